"""Unknown is never evidence: not in a ``for``/``against`` list, and never above both answers.

The property runs over every case file of the bundled ruleset and every finding: the case as
written, with that one finding unknown, and with each answer it could have (yes and no; for
a number, a value on each side of every threshold the rules compare it with). A condition's
score with the finding unknown must lie between its lowest and highest score over the
answers: an unknown can neither support a condition more than any answer would, nor count
against it more. The differential alone is built (on CLIPS, proven identical to
durable-rules by the conformance tests), so the ~20,000 evaluations take seconds.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from twitchrules import CaseError, evaluate, load_ruleset
from twitchrules.case import build_facts, case_from_mapping
from twitchrules.case import vocabulary as contract
from twitchrules.conclusions import Firing
from twitchrules.conclusions.differential import build_differential
from twitchrules.engine import get_backend
from twitchrules.ruleset.model import Ruleset

from .conftest import CASES_DIR

CASE_FILES = sorted(CASES_DIR.glob("*.json"))
TWITCHING_INPUTS = {"twitching.course": ("improving", "stable", "worsening"),
                    "twitching.relieved_by_rest": (True, False)}


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    """The bundled ruleset, loaded once."""
    return load_ruleset()


def _case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["case"]
    return case


def _around(thresholds: list[float], low: float, high: float) -> list[float]:
    """Values on each side of, and at, every threshold, kept inside the allowed range."""
    values = set() if thresholds else {low, high}
    for threshold in thresholds:
        values.update((threshold - 0.01, threshold, threshold + 0.01))
    return sorted(round(v, 3) for v in values if low <= v <= high)


def answers(ruleset: Ruleset, name: str) -> tuple[Any, ...]:
    """The answers an input can be given that differ for the rules."""
    if name in TWITCHING_INPUTS:
        return TWITCHING_INPUTS[name]
    if name in contract.BOOLEAN_FINDINGS:
        return (True, False)
    if name in contract.ENUM_FINDINGS:
        return contract.ENUM_FINDINGS[name]
    if name in contract.NUMBER_FINDINGS:
        spec = contract.NUMBER_FINDINGS[name]
        return tuple(_around(ruleset.compared_numbers.get(name, []), spec.low, spec.high))
    days_fact = contract.DATE_FINDINGS[name]
    return tuple(-int(days) for days in _around(ruleset.compared_numbers.get(days_fact, []), 0, 365)
                 if days == int(days))  # a date: minus the days before the assessment


def with_input(case: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """A copy of ``case`` with one input set to ``value`` (``None``: left unknown)."""
    changed = copy.deepcopy(case)
    if name.startswith("twitching."):
        place, key = changed["twitching"], name.split(".", 1)[1]
    else:
        place, key = changed.setdefault("findings", {}), name
    place.pop(key, None)
    if key == "course" and value is None:
        return changed
    if value is not None:
        if name in contract.DATE_FINDINGS:
            value = (dt.date.fromisoformat(case["assessed_on"])
                     + dt.timedelta(days=value)).isoformat()
        place[key] = value
    return changed


def scores(ruleset: Ruleset, case: dict[str, Any]) -> dict[str, float] | None:
    """Each listed condition's score (``None`` when this variant is not a valid case)."""
    try:
        checked = case_from_mapping(case)
    except CaseError:  # e.g. weakness_since with weakness: false
        return None
    facts = build_facts(checked, ruleset.fact_definitions)
    run = get_backend(ruleset, "clips").run(facts)
    return {entry.condition: entry.score
            for entry in build_differential(Firing(ruleset, run, facts))}


def violations(ruleset: Ruleset, path: Path) -> Iterator[str]:
    """Every (finding, condition) whose score with the finding unknown is outside its answers'."""
    case = _case(path)
    read = {fact for rule in ruleset.rules for fact in rule.condition_facts}
    fact_of = {input_name: fact for fact, input_name in ruleset.input_names.items()}
    for name in (*contract.FINDINGS, *TWITCHING_INPUTS):
        if fact_of[name] not in read:  # no rule reads it: nothing can change
            continue
        unknown = scores(ruleset, with_input(case, name, None))
        assert unknown is not None, f"{path.stem}: the case without {name} is not valid"
        known = [found for value in answers(ruleset, name)
                 if (found := scores(ruleset, with_input(case, name, value))) is not None]
        if not known:  # no answer is valid here (weakness_since with weakness: false)
            continue
        for condition in sorted(set(unknown).union(*known)):
            each = [found.get(condition, 0.0) for found in known]
            score = unknown.get(condition, 0.0)
            if not min(each) <= score <= max(each):
                yield (f"{path.stem}: {name} unknown gives {condition} {score}, "
                       f"answers give {min(each)}..{max(each)}")


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_score_with_a_finding_unknown_lies_between_its_answers(ruleset: Ruleset,
                                                                path: Path) -> None:
    """Every condition's score with a finding unknown lies between its scores over the answers."""
    assert list(violations(ruleset, path)) == []


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_no_unknown_finding_is_evidence(ruleset: Ruleset, path: Path) -> None:
    """No ``for``/``against`` list names an unknown finding; unconfirmed ones are listed apart."""
    result = evaluate(_case(path), ruleset=ruleset)
    facts = build_facts(case_from_mapping(_case(path)), ruleset.fact_definitions)
    for entry in result.differential:
        named = [*entry.for_, *entry.against, *(item.finding for item in entry.evidence)]
        unknown = [name for name in named
                   if name not in ruleset.derived_names and name not in facts]
        assert unknown == [], f"{entry.condition}: unknown findings used as evidence"
        assert all(item.value is not None for item in entry.evidence)
        assert not set(entry.unconfirmed) & set(facts), entry.unconfirmed


def test_a_finding_a_rule_names_but_the_case_leaves_unknown_is_unconfirmed(
        ruleset: Ruleset) -> None:
    """The contract's example (spread, progressive weakness, asymmetry unknown): ALS's rule on
    'spreading or asymmetric' fires, and the unknown asymmetry is unconfirmed, not evidence."""
    case = {
        "assessed_on": "2026-11-20", "patient": {"age": 42, "sex": "male"},
        "twitching": {"regions": [{"region": "forearm", "side": "right", "since": "2026-08-20"},
                                  {"region": "thigh", "side": "left", "since": "2026-11-01"}],
                      "course": "worsening", "relieved_by_rest": False},
        "findings": {"weakness": True, "weakness_progressive": True, "caffeine_mg_per_day": 500},
    }
    als = next(e for e in evaluate(case, ruleset=ruleset).differential if e.condition == "als")
    assert "weakness_asymmetric" not in als.for_
    assert "weakness_asymmetric" in als.unconfirmed
    known = evaluate(with_input(case, "weakness_asymmetric", True), ruleset=ruleset)
    als_known = next(e for e in known.differential if e.condition == "als")
    assert "weakness_asymmetric" in als_known.for_ and not als_known.unconfirmed


def test_the_property_catches_a_rule_pair_that_rewards_both_answers(tmp_path: Path) -> None:
    """A ruleset where 'no cramps' and 'cramps' both support BFS breaks the property: reported."""
    folder = tmp_path / "twitching"
    shutil.copytree(CASES_DIR.parent, folder, ignore=shutil.ignore_patterns("releases"))
    rule = ("  - id: DX-TEST-{n}\n    version: 1.0.0\n    title: test rule\n"
            "    when: {{fact: cramps, is: {value}}}\n"
            "    then:\n      - evidence: {{condition: bfs, direction: for, findings: [cramps],"
            " weight: 0.3}}\n    explanation: test\n    provenance: {{source: {{note: test}},"
            " author: test, status: draft, reviewer: null, date: 2026-11-25}}\n")
    (folder / "rules" / "99-test.yaml").write_text(
        "rules:\n" + rule.format(n=1, value="true") + rule.format(n=2, value="false"),
        encoding="utf-8")
    found = list(violations(load_ruleset(folder), CASES_DIR / "bfs-classic-single-segment.json"))
    assert any("cramps unknown gives bfs" in line for line in found), found
