"""Case reading: JSON text or a mapping -> a validated ``Case``, or a ``CaseError`` naming every field."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import CaseError
from .model import Case, Findings, Patient, RegionEntry, Twitching, strict_date

_KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "": tuple(Case.model_fields),
    "patient": tuple(Patient.model_fields),
    "twitching": tuple(Twitching.model_fields),
    "twitching.regions[]": tuple(RegionEntry.model_fields),
    "findings": tuple(Findings.model_fields),
}
_WHAT: dict[str, str] = {"findings": "finding", "": "case field"}


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


def _describe(error: Mapping[str, Any]) -> list[tuple[str, str]]:
    loc = tuple(error["loc"])
    kind = error["type"]
    if loc and loc[-1] in _UNION_TAGS:  # a number field (int | float) names both branches
        shown = json.dumps(error.get("input"), default=str)[:60]
        return [(format_location(loc[:-1]), f"expected a number (got {shown})")]
    ctx = error.get("ctx") or {}
    if kind == "since_after_assessed_on":
        return [(path, error["msg"]) for path in ctx["paths"]]
    path = format_location(loc)
    if kind == "extra_forbidden":
        parent = _parent_pattern(loc)
        known = _KNOWN_KEYS.get(parent, ())
        what = _WHAT.get(parent, "field")
        message = f"'{path}' is not a known {what}"
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            message += f" (did you mean '{close[0]}'?)"
        return [(path, message)]
    if kind == "missing":
        return [(path, "is required")]
    message = error["msg"]
    if "input" in error and kind not in {"lab_unit"}:
        message += f" (got {json.dumps(error['input'], default=str)[:60]})"
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
    return late


def case_from_mapping(data: Any) -> Case:
    """Validate a mapping (parsed JSON) as a ``Case``; raise ``CaseError`` naming every field."""
    if isinstance(data, Case):
        return data
    if not isinstance(data, Mapping):
        raise CaseError([("case", f"expected a JSON object, got {type(data).__name__}")])
    try:
        return Case.model_validate(dict(data))
    except ValidationError as error:
        problems: list[tuple[str, str]] = []
        for item in error.errors():
            problems.extend(_describe(item))
        problems.extend(_late_regions(data))
        raise CaseError(list(dict.fromkeys(problems))) from None


def case_from_json(text: str | bytes) -> Case:
    """Parse JSON text into a ``Case``; input that is not JSON raises ``CaseError`` saying so."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CaseError([("case", f"is not valid JSON: {error}")]) from None
    return case_from_mapping(data)
