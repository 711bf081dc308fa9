"""Case reading: JSON text or a mapping -> a validated ``Case``, or a ``CaseError`` naming every field.

``parse_json`` is the one strict JSON reader of twitchrules (cases here, FHIR bodies in the
CLI and the service): UTF-8 only, no duplicate keys, no ``NaN``/``Infinity``, numbers of at
most ``MAX_NUMBER_CHARS`` characters, nesting of at most ``MAX_JSON_DEPTH`` levels. What it
refuses raises ``JsonProblem`` with the location and the reason, never a bare
``ValueError``, ``UnicodeDecodeError`` or ``RecursionError``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import CaseError
from .model import Case, Findings, Patient, RegionEntry, Twitching, strict_date

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects accepted (a case needs 4, a FHIR Bundle about 15)."""

MAX_NUMBER_CHARS = 100
"""Longest number literal accepted (far beyond any measurement; Python refuses ints past 4,300)."""

MAX_PROBLEMS = 50
"""Most problems a ``CaseError`` lists one by one; the rest are counted in one last line."""

_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"), (b"\xff\xfe", "UTF-16"),
)

_KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "": tuple(Case.model_fields),
    "patient": tuple(Patient.model_fields),
    "twitching": tuple(Twitching.model_fields),
    "twitching.regions[]": tuple(RegionEntry.model_fields),
    "findings": tuple(Findings.model_fields),
}
_WHAT: dict[str, str] = {"findings": "finding", "": "case field"}


class JsonProblem(ValueError):
    """Text that ``parse_json`` refuses; ``location`` is the key path (``""``: the document)."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}" if location else message)


class _Duplicated(dict):  # type: ignore[type-arg]
    """A parsed object that had keys given twice (marked so the walk can name their path)."""

    duplicates: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    seen: set[str] = set()
    marked = _Duplicated(found)
    marked.duplicates = []
    for key, _ in pairs:
        if key in seen:
            marked.duplicates.append(key)
        seen.add(key)
    return marked


def _number_literal(text: str) -> None:
    if len(text) > MAX_NUMBER_CHARS:
        raise JsonProblem("", f"a number of {len(text)} characters is too long "
                              f"(at most {MAX_NUMBER_CHARS})")


def _int(text: str) -> int:
    _number_literal(text)
    return int(text)


def _float(text: str) -> float:
    _number_literal(text)
    value = float(text)
    if math.isinf(value):
        raise JsonProblem("", f"the number {text} is too large for a float")
    return value


def _constant(name: str) -> Any:
    raise JsonProblem("", f"{name} is not a JSON number")


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def check_document(document: Any) -> None:
    """Refuse nesting deeper than ``MAX_JSON_DEPTH`` and name every duplicated key (``JsonProblem``).

    Iterative, so a hostile depth costs no recursion; used on parsed JSON and on mappings
    handed to the API directly.
    """
    stack: list[tuple[Any, str, int]] = [(document, "", 1)]
    duplicates: list[str] = []
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            shown = path if len(path) <= 120 else path[:117] + "..."
            raise JsonProblem(shown, f"is nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, dict):
            if isinstance(value, _Duplicated):
                duplicates.extend(_path(path, key) for key in value.duplicates)
            stack.extend((child, _path(path, key), depth + 1) for key, child in value.items()
                         if isinstance(child, dict | list))
        elif isinstance(value, list):
            stack.extend((child, _path(path, index), depth + 1)
                         for index, child in enumerate(value) if isinstance(child, dict | list))
    if duplicates:
        first = sorted(duplicates)[0]
        more = f" (and {len(duplicates) - 1} more)" if len(duplicates) > 1 else ""
        raise JsonProblem(first, f"is given more than once: a duplicate key is refused{more}")


def _decode(text: str | bytes) -> str:
    if isinstance(text, str):
        return text.removeprefix("\ufeff")
    for bom, name in _BOMS:
        if text.startswith(bom):
            raise JsonProblem("", f"is {name} text; JSON must be UTF-8 (RFC 8259)")
    try:
        return text.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise JsonProblem("", f"is not UTF-8 text (byte 0x{text[error.start]:02x} at offset "
                              f"{error.start}); JSON must be UTF-8") from None


def parse_json(text: str | bytes) -> Any:
    """Parse JSON strictly (see the module docstring); raise ``JsonProblem`` naming what is refused.

    Bytes must be UTF-8 (a UTF-8 byte-order mark is skipped; UTF-16 and UTF-32 are refused).
    """
    decoded = _decode(text)
    try:
        document = json.loads(decoded, object_pairs_hook=_pairs, parse_int=_int,
                              parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as error:
        raise JsonProblem("", f"is not valid JSON: line {error.lineno} column {error.colno}: "
                              f"{error.msg}") from None
    except RecursionError:
        raise JsonProblem("", f"is nested deeper than {MAX_JSON_DEPTH} levels") from None
    check_document(document)
    return document


def format_location(loc: tuple[str | int, ...]) -> str:
    """Render a pydantic location as a contract path, e.g. ``twitching.regions[0].since``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _parent_pattern(loc: tuple[str | int, ...]) -> str:
    return format_location(tuple("[]" if isinstance(p, int) else p for p in loc[:-1])).replace(
        ".[]", "[]"
    )


_UNION_TAGS = {"int", "float"}


def _shown(value: Any) -> str:
    """A short rendering of an input value for a message (never dumps a large structure)."""
    if isinstance(value, dict | list):
        kind = "an object" if isinstance(value, dict) else "an array"
        return f"{kind} of {len(value)} item(s)"
    if isinstance(value, str) and len(value) > 60:
        value = value[:57] + "..."
    try:
        return json.dumps(value, default=str)[:60]
    except ValueError:  # an int past Python's digit limit (only from a mapping, not JSON)
        return "a very long number"


def _describe(error: Mapping[str, Any]) -> list[tuple[str, str]]:
    loc = tuple(error["loc"])
    kind = error["type"]
    if loc and loc[-1] in _UNION_TAGS:  # a number field (int | float) names both branches
        return [(format_location(loc[:-1]), f"expected a number (got {_shown(error.get('input'))})")]
    ctx = error.get("ctx") or {}
    if kind == "since_after_assessed_on":
        return [(path, error["msg"]) for path in ctx["paths"]]
    path = format_location(loc)
    if kind == "extra_forbidden":
        parent = _parent_pattern(loc)
        known = _KNOWN_KEYS.get(parent, ())
        what = _WHAT.get(parent, "field")
        message = f"'{path}' is not a known {what}"
        import difflib  # only when there is a problem to name

        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            message += f" (did you mean '{close[0]}'?)"
        return [(path, message)]
    if kind == "missing":
        return [(path, "is required")]
    message = error["msg"]
    if "input" in error and kind not in {"lab_unit", "number_subnormal",
                                         "qualifier_contradicts_parent"}:
        message += f" (got {_shown(error['input'])})"
    return [(path or "case", message)]


def _late_regions(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Regions starting after assessed_on, found on raw data so they join other problems."""
    try:
        assessed_on = strict_date(data.get("assessed_on"))
        regions = data["twitching"]["regions"]
    except Exception:  # noqa: BLE001 - unparseable parts are reported by the model
        return []
    late = []
    for index, entry in enumerate(regions if isinstance(regions, list) else []):
        try:
            since = strict_date(entry.get("since"))
        except Exception:  # noqa: BLE001
            continue
        if since > assessed_on:
            late.append((f"twitching.regions[{index}].since",
                         f"is after assessed_on ({assessed_on.isoformat()})"))
    findings = data.get("findings")
    if isinstance(findings, Mapping) and "weakness_since" in findings:
        try:
            weakness_since = strict_date(findings["weakness_since"])
        except Exception:  # noqa: BLE001 - reported by the model
            return late
        if weakness_since > assessed_on:
            late.append(("findings.weakness_since",
                         f"is after assessed_on ({assessed_on.isoformat()})"))
    return late


def _capped(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    unique = list(dict.fromkeys(problems))
    if len(unique) <= MAX_PROBLEMS:
        return unique
    rest = len(unique) - MAX_PROBLEMS
    return [*unique[:MAX_PROBLEMS], ("case", f"... and {rest} more problem(s) not listed")]


def case_from_mapping(data: Any) -> Case:
    """Validate a mapping (parsed JSON) as a ``Case``; raise ``CaseError`` naming every field.

    At most ``MAX_PROBLEMS`` problems are listed; a last line counts the others.
    """
    if isinstance(data, Case):
        return data
    if not isinstance(data, Mapping):
        raise CaseError([("case", f"expected a JSON object, got {type(data).__name__}")])
    try:
        check_document(data)
    except JsonProblem as problem:
        raise CaseError([(problem.location or "case", problem.message)]) from None
    try:
        return Case.model_validate(dict(data))
    except ValidationError as error:
        problems: list[tuple[str, str]] = []
        for item in error.errors():
            if len(problems) > MAX_PROBLEMS:  # enough to list; count the rest cheaply
                problems.append((format_location(tuple(item["loc"])), item["type"]))
                continue
            problems.extend(_describe(item))
        problems.extend(_late_regions(data))
        raise CaseError(_capped(problems)) from None


def case_from_json(text: str | bytes) -> Case:
    """Parse JSON text into a ``Case``; input that is not JSON raises ``CaseError`` saying so.

    The text is read by ``parse_json``: not UTF-8, duplicate keys, over-long numbers and
    deep nesting are refused with the location named.
    """
    try:
        data = parse_json(text)
    except JsonProblem as problem:
        raise CaseError([(problem.location or "case", problem.message)]) from None
    return case_from_mapping(data)
