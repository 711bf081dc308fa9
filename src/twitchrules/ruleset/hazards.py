"""Hazards: a ruleset's hazard log (``hazards.yaml`` beside its rules), read and checked by name.

The hazard log is the ISO 14971 side of the traceability matrix: each hazard has a cause,
the rules that mitigate it (``mitigated_by``), controls outside the rules (``controls``) and
what proves them (``proved_by``: the ruleset's own case files by id, and the project's
checks as pytest ids ``tests/test_x.py::test_name``). ``check_hazards`` names every reference
that does not resolve; a hazard with nothing that proves it is a gap the trace report lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RulesetError
from .load import read_utf8
from .model import Ruleset

HAZARDS_FILE = "hazards.yaml"
_CHECK = re.compile(r"^(?P<file>tests/[\w/.-]+\.py)::(?P<name>test_\w+)$")


@dataclass(frozen=True)
class Hazard:
    """One entry of the hazard log."""

    id: str
    hazard: str
    cause: str
    effect: str
    mitigated_by: tuple[str, ...]
    controls: str
    cases: tuple[str, ...]
    checks: tuple[str, ...]

    @property
    def proved(self) -> bool:
        """Whether anything at all is named as proving the hazard's controls."""
        return bool(self.cases or self.checks)


def hazards_path(ruleset: Ruleset) -> Path:
    """Where a ruleset's hazard log lives: ``hazards.yaml`` in its folder."""
    path = Path(ruleset.path)
    return (path if path.is_dir() else path.parent) / HAZARDS_FILE


def _text(entry: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    value = entry.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise RulesetError([(where, f"'{key}' must be a non-empty text")])
    return value.strip()


def _names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesetError([(where, "must be a list of names")])
    return tuple(value)


def load_hazards(path: str | Path) -> list[Hazard]:
    """Read a hazard log; ``RulesetError`` naming the entry and field when it is malformed."""
    path = Path(path)
    from .yaml_reader import YamlProblem, read_yaml  # PyYAML only when a hazard log is read

    if not path.exists():
        return []
    try:
        document = read_yaml(read_utf8(path, str(path)))
    except (OSError, YamlProblem) as error:
        raise RulesetError([(str(path), f"cannot be read: {error}")]) from None
    if not isinstance(document, dict) or document.get("format") != 1 or not isinstance(
            document.get("hazards"), list):
        raise RulesetError([(str(path), "must hold 'format: 1' and a 'hazards' list")])
    hazards = []
    for index, entry in enumerate(document["hazards"]):
        where = f"{path}: hazards[{index}]"
        if not isinstance(entry, dict):
            raise RulesetError([(where, "must be a mapping")])
        proved = entry.get("proved_by") or {}
        if not isinstance(proved, dict):
            raise RulesetError([(f"{where}.proved_by", "must be a mapping of cases and checks")])
        hazards.append(Hazard(
            id=_text(entry, "id", where), hazard=_text(entry, "hazard", where),
            cause=_text(entry, "cause", where), effect=_text(entry, "effect", where, False),
            mitigated_by=_names(entry.get("mitigated_by"), f"{where}.mitigated_by"),
            controls=_text(entry, "controls", where, False),
            cases=_names(proved.get("cases"), f"{where}.proved_by.cases"),
            checks=_names(proved.get("checks"), f"{where}.proved_by.checks")))
    return hazards


def check_hazards(hazards: list[Hazard], ruleset: Ruleset, case_ids: set[str],
                  source_root: Path | None) -> list[tuple[str, str]]:
    """Every name in the log that does not resolve: rules, case files and (in a source tree) checks."""
    rule_ids = {rule.id for rule in ruleset.rules} | {ruleset.triage_default["id"]}
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for hazard in hazards:
        if hazard.id in seen:
            problems.append((hazard.id, "duplicate hazard id"))
        seen.add(hazard.id)
        for rule_id in hazard.mitigated_by:
            if rule_id not in rule_ids:
                problems.append((hazard.id, f"mitigated_by names '{rule_id}', not a rule of the ruleset"))
        if not hazard.mitigated_by and not hazard.controls:
            problems.append((hazard.id, "names neither a mitigating rule nor a control"))
        for case_id in hazard.cases:
            if case_id not in case_ids:
                problems.append((hazard.id, f"proved_by names case '{case_id}', not a case file of tests/"))
        for check in hazard.checks:
            match = _CHECK.match(check)
            if match is None:
                problems.append((hazard.id, f"check '{check}' is not a pytest id tests/...py::test_name"))
                continue
            if source_root is None:
                continue
            test_file = source_root / match["file"]
            text = test_file.read_text(encoding="utf-8") if test_file.is_file() else ""
            if not re.search(rf"^def {match['name']}\(", text, re.MULTILINE):
                problems.append((hazard.id, f"check '{check}' does not exist"))
    return problems
