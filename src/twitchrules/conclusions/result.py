"""Result: the output models of the contract (v1), with the trace an auditor replays.

Field names are the contract's. ``for`` is a Python keyword, so the field is ``for_`` with
the alias ``for``; ``to_dict()`` and ``to_json()`` always use the contract names.
"""

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ..case.vocabulary import CONDITIONS, CONTRACT_VERSION, TRIAGE_LEVELS

TriageLevel = Literal[TRIAGE_LEVELS]  # type: ignore[valid-type]
ConditionId = Literal[CONDITIONS]  # type: ignore[valid-type]


_EXPONENT = re.compile(r"e-\d")
_FIVE_PLACES = re.compile(r"0\.0000\d")


def _float_written_otherwise(text: str) -> bool:
    """Whether pydantic's JSON may spell a float otherwise than Python's ``repr``.

    That is a magnitude below 1e-4: ``0.0000d...`` (``1e-05`` in Python) or a negative
    exponent after a digit (``1e-7``, Python ``1e-07``). The same test as the regular
    expression ``\\de-\\d|0\\.0000\\d``, made cheap: each search starts with a literal, which
    Python's ``re`` skips to, and the digit before ``e-`` is checked only where one is found.
    """
    if "0.0000" in text and _FIVE_PLACES.search(text):
        return True
    return any(found.start() and text[found.start() - 1].isdecimal()
               for found in _EXPONENT.finditer(text))


def _small(value: object) -> bool:
    return type(value) is float and value != 0 and -1e-4 < value < 1e-4


def floats_spelled_alike(values: Iterable[object]) -> bool:
    """Whether no value is a float that pydantic's JSON spells otherwise than Python's: none
    is nonzero with a magnitude below 1e-4 (``1e-05``, which pydantic writes ``0.00001``)."""
    return not any(map(_small, values))


_set = object.__setattr__
_new = object.__new__


def _slot_setter(name: str) -> Callable[[Any, Any], None]:
    """The setter of BaseModel's slot ``name`` (what ``object.__setattr__`` finds after a
    lookup along the class's MRO, found once); that lookup if pydantic has no such slot."""
    descriptor = BaseModel.__dict__.get(name)
    setter = getattr(descriptor, "__set__", None)
    return setter if setter is not None else lambda instance, value: _set(instance, name, value)


_set_dict = _slot_setter("__dict__")
_set_fields_set = _slot_setter("__pydantic_fields_set__")
_set_extra = _slot_setter("__pydantic_extra__")
_set_private = _slot_setter("__pydantic_private__")
_M = TypeVar("_M", bound="_Out")
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # model class -> its field names, in order
# Model class -> the set of its field names, shared by the instances built here: the models
# are frozen, and pydantic changes a fields set only on a copy it has made (model_copy).
# One set less per instance is one container less for the cyclic garbage collector.
_FIELDS_SET: dict[type, set[str]] = {}


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    @classmethod
    def built(cls: type[_M], **values: Any) -> _M:
        """An instance from values the conclusions computed themselves, every field given by
        its field name: nothing is validated again (what ``model_construct`` does, without
        its per-field alias and default lookups); a missing field is a ``KeyError``.
        ``tests/test_serialisation.py`` validates every case file's result against the
        models and the schema."""
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = tuple(cls.__pydantic_fields__)
        if tuple(values) != names:  # serialised in declaration order, whatever the call's
            values = {name: values[name] for name in names}
        return cls.in_order(values)

    @classmethod
    def in_order(cls: type[_M], values: dict[str, Any]) -> _M:
        """``built`` for the hot paths, from one dict that gives every field in declaration
        order (the order the JSON is written in), taken as it is: the caller's duty, which
        ``tests/test_serialisation.py`` checks on every model of every case file's result."""
        fields_set = _FIELDS_SET.get(cls)
        if fields_set is None:
            fields_set = _FIELDS_SET[cls] = set(cls.__pydantic_fields__)
        instance = _new(cls)
        _set_dict(instance, values)
        _set_fields_set(instance, fields_set)
        _set_extra(instance, None)
        _set_private(instance, None)
        return instance


class EngineInfo(_Out):
    """Which engine produced the result."""

    name: str
    version: str


class RulesetInfo(_Out):
    """Which ruleset produced the result: name, semantic version and content sha256."""

    name: str
    version: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Triage(_Out):
    """How urgent, by when, why, and which rules set the level."""

    level: TriageLevel
    timeframe: str
    reasons: list[str]
    rules: list[str]


def finding_in_words(finding: str, value: bool | int | float | str | None) -> str:
    """A finding with the value it had, e.g. ``weakness: no``, ``duration_days: 97``."""
    if value is None:
        return f"{finding}: unknown"
    if isinstance(value, bool):
        return f"{finding}: {'yes' if value else 'no'}"
    return f"{finding}: {value}"


class EvidenceItem(_Out):
    """One finding behind a differential entry, with the value the case gave it."""

    finding: str
    value: bool | int | float | str | None = Field(
        description="The value the finding had (null: unknown); 'for: weakness' with value "
        "false means the absence of weakness supports the condition.")
    direction: Literal["for", "against"]
    rule: str


def _empty_list() -> list[str]:
    # Not ``list``: pydantic reads a default factory's signature, and a builtin's is parsed
    # from its text by the tokenizer, whose patterns take ~3 ms to compile once a process.
    return []


class DifferentialEntry(_Out):
    """One condition of the differential with its evidence-derived score."""

    condition: ConditionId
    title: str
    rank: int = Field(ge=1)
    score: float = Field(ge=0, le=1)
    for_: list[str] = Field(alias="for")
    against: list[str]
    tests: list[str]
    rules: list[str]
    evidence: list[EvidenceItem] = Field(
        description="The findings behind 'for' and 'against' with their values, rule by rule.")
    unconfirmed: list[str] = Field(
        default_factory=_empty_list,
        description="Findings a fired rule names that the case leaves unknown: never evidence "
        "(in no 'for' or 'against' list), listed so a reader can confirm them.")

    def findings_in_words(self, direction: Literal["for", "against"]) -> list[str]:
        """The findings on one side with their values, e.g. ``["weakness: no"]``."""
        seen: dict[str, str] = {}
        for item in self.evidence:
            if item.direction == direction:
                seen.setdefault(item.finding, finding_in_words(item.finding, item.value))
        return list(seen.values())


class Recommendation(_Out):
    """One piece of advice with the rules and the source behind it."""

    id: str
    text: str
    rules: list[str]
    source: str


ItemStatus = Literal["met", "not_met", "unknown"]
"""The status of one checklist item."""


class ChecklistItem(_Out):
    """One item of the article's six-item checklist."""

    id: str
    text: str
    status: ItemStatus
    evidence: list[str]
    rules: list[str]


class Checklist(_Out):
    """The article's "when to seek help" checklist and whether it calls for referral."""

    items: list[ChecklistItem]
    count: int = Field(ge=0)
    threshold: int = Field(ge=1)
    referral: bool


class MissingInput(_Out):
    """An unknown input that would change the triage or the differential if known."""

    input: str
    why: str
    rules: list[str]


class Notice(_Out):
    """A notice for the reader, such as ``not-a-diagnosis``."""

    code: str
    message: str


class TraceEntry(_Out):
    """One fired rule, in firing order: what it matched and what it concluded."""

    rule: str
    version: str
    matched: dict[str, Any]
    concluded: list[str]
    source: str


class Result(_Out):
    """The result of evaluating one case (contract v1)."""

    contract_version: Literal[CONTRACT_VERSION] = CONTRACT_VERSION  # type: ignore[valid-type]
    package_version: str
    engine: EngineInfo
    ruleset: RulesetInfo
    triage: Triage
    differential: list[DifferentialEntry]
    recommendations: list[Recommendation]
    checklist: Checklist
    missing_information: list[MissingInput]
    notices: list[Notice]
    trace: list[TraceEntry]

    @classmethod
    def built_floats_alike(cls, **values: Any) -> "Result":
        """``built``, for a result whose every float is spelled alike by pydantic and Python
        (``floats_spelled_alike``), which the caller has made sure of: ``evaluate``, whose
        floats are all the case's number facts (a score is rounded to 3 places, so it is 0
        or at least 0.001). ``to_json`` then reads no value to find out.

        The mark is the result's fields set: the same field names as every result's, in a
        set of its own, known by identity. A copy of the result (``model_copy``, ``copy``,
        pickling) has a set of its own, so its floats are read again."""
        result = cls.built(**values)
        _set_fields_set(result, _FLOATS_ALIKE)
        return result

    def _small_float(self) -> bool | None:
        """Whether a float of this result is nonzero and below 1e-4 in magnitude (which
        pydantic may spell otherwise than Python); ``None`` when a matched value is not a
        scalar. Floats are only in a differential entry's score and evidence values and in
        a trace entry's matched values (``tests/test_serialisation.py`` checks that no other
        field of the models can hold one)."""
        if self.__pydantic_fields_set__ is _FLOATS_ALIKE:
            return False
        for entry in self.differential:
            if _small(entry.score) or any(_small(item.value) for item in entry.evidence):
                return True
        for trace in self.trace:
            for value in trace.matched.values():
                if type(value) is float:
                    if _small(value):
                        return True
                elif value is not None and not isinstance(value, (bool, int, str)):
                    return None
        return False

    def to_dict(self) -> dict[str, Any]:
        """The result as the contract's JSON object (plain Python values)."""
        return self.model_dump(mode="json", by_alias=True)

    def to_json(self, indent: int | None = 2) -> str:
        """The result as JSON text; the same case and ruleset always give the same bytes.

        The bytes are those of ``json.dumps(self.to_dict(), indent=indent,
        ensure_ascii=False)`` (the format results have always had), made by pydantic's own
        serialiser: ``indent=2`` (for people) is ``model_dump_json``'s; the compact form
        (``indent=None``, for machines) is its one-item-a-line form joined up. A float
        pydantic writes differently from Python (``0.00001`` for ``1e-05``: only magnitudes
        below 1e-4, looked for among the values that can be floats) sends that one result
        through ``to_dict`` instead.
        """
        try:
            # pydantic's serialiser itself (what model_dump_json calls), for its UTF-8 bytes:
            # the compact form is joined up on them, which is quicker than on the text.
            written = self.__pydantic_serializer__.to_json(
                self, indent=0 if indent is None else indent, by_alias=True)
        except ValueError:  # e.g. a lone surrogate, which Python's json writes as an escape
            return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
        if indent is None:
            # Compact: one item or key a line, unindented; newlines are never inside a JSON
            # string, so each one is a break between items that json.dumps writes as ", "
            # (after a comma) or as nothing (after an opening or before a closing bracket).
            written = written.replace(b",\n", b", ").replace(b"\n", b"")
        text = written.decode("utf-8")
        spelled_otherwise = self._small_float()
        if spelled_otherwise is None:  # a value the check cannot see into: read the text
            spelled_otherwise = _float_written_otherwise(text)
        if spelled_otherwise:
            return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
        return text


_FLOATS_ALIKE: set[str] = set(Result.__pydantic_fields__)
"""The fields set that marks a result built by ``Result.built_floats_alike``."""
