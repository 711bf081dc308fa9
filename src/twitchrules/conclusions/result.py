"""Result: the output models of the contract (v1), with the trace an auditor replays.

Field names are the contract's. ``for`` is a Python keyword, so the field is ``for_`` with
the alias ``for``; ``to_dict()`` and ``to_json()`` always use the contract names.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ..case.vocabulary import CONDITIONS, CONTRACT_VERSION, TRIAGE_LEVELS

TriageLevel = Literal[TRIAGE_LEVELS]  # type: ignore[valid-type]
ConditionId = Literal[CONDITIONS]  # type: ignore[valid-type]


_FLOAT_WRITTEN_OTHERWISE = re.compile(r"\de-\d|0\.0000\d")
"""Where pydantic's JSON may write a float otherwise than Python's ``repr`` (|x| < 1e-4)."""


_set = object.__setattr__
_M = TypeVar("_M", bound="_Out")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    @classmethod
    def built(cls: type[_M], **values: Any) -> _M:
        """An instance from values the conclusions computed themselves, every field given by
        its field name: nothing is validated again (what ``model_construct`` does, without
        its per-field alias and default lookups); a missing field is a ``KeyError``.
        ``tests/test_serialisation.py`` validates every case file's result against the
        models and the schema."""
        ordered = {name: values[name] for name in cls.__pydantic_fields__}  # serialised in this order
        instance = cls.__new__(cls)
        _set(instance, "__dict__", ordered)
        _set(instance, "__pydantic_fields_set__", set(ordered))
        _set(instance, "__pydantic_extra__", None)
        _set(instance, "__pydantic_private__", None)
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
        default_factory=list,
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

    def to_dict(self) -> dict[str, Any]:
        """The result as the contract's JSON object (plain Python values)."""
        return self.model_dump(mode="json", by_alias=True)

    def to_json(self, indent: int | None = 2) -> str:
        """The result as JSON text; the same case and ruleset always give the same bytes.

        The bytes are those of ``json.dumps(self.to_dict(), indent=indent,
        ensure_ascii=False)`` (the format results have always had), made by pydantic's own
        serialiser: ``indent=2`` (for people) is ``model_dump_json`` as it is; the compact
        form (``indent=None``, for machines) re-spaces it through the C JSON codec. A float
        pydantic writes differently from Python (``0.00001`` for ``1e-05``: only magnitudes
        below 1e-4) sends that one result through ``to_dict`` instead.
        """
        try:
            text = self.model_dump_json(by_alias=True, indent=indent)
        except ValueError:  # e.g. a lone surrogate, which Python's json writes as an escape
            return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
        if indent is None:
            return json.dumps(json.loads(text), ensure_ascii=False)
        if _FLOAT_WRITTEN_OTHERWISE.search(text):
            return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
        return text
