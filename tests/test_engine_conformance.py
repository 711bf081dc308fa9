"""Conformance: durable-rules and CLIPS give identical results on the same ruleset.

Every case file in ``rulesets/twitching/tests/``, 1,000 generated valid cases and a synthetic
cohort from both documented mixes (``twitchrules synth``; all seeded, so the same cases on every
run) are evaluated on both backends; CLIPS is the default engine because these pass. The
results must be identical apart from ``engine``: triage, differential with scores, checklist,
recommendations, missing information, notices, and the trace (the same rules with the same conclusions, in the same
order). The engines' own firing records must be identical too (firing order, possible rules,
derived facts, checklist counts).

Skipped where durable-rules does not import (CPython 3.13+); there, ``tests/test_clips.py``
still checks the CLIPS backend against its own live (callback) mode.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from twitchrules import evaluate, load_ruleset
from twitchrules.case import build_facts, case_from_mapping
from twitchrules.case.synthetic import generate_cases
from twitchrules.engine import available_engines, get_backend
from twitchrules.population import cohort_cases

from .conftest import CASES_DIR, STARTER

pytestmark = pytest.mark.skipif(
    not {"durable", "clips"} <= set(available_engines()),
    reason="needs both durable-rules and CLIPS (durable-rules does not import on this Python)",
)

CASE_FILES = sorted(CASES_DIR.glob("*.json"))
GENERATED = 1000
SEED = 20261120


def _without_engine(result: Any) -> dict[str, Any]:
    data = result.to_dict()
    data.pop("engine")
    return data


def _differences(cases: list[dict[str, Any]], ruleset: Any) -> list[str]:
    """Every case on which the two backends differ, in words (empty when they agree)."""
    durable, clips = get_backend(ruleset, "durable"), get_backend(ruleset, "clips")
    problems: list[str] = []
    for number, case in enumerate(cases):
        on_durable = evaluate(case, ruleset=ruleset, engine="durable")
        on_clips = evaluate(case, ruleset=ruleset, engine="clips")
        assert on_durable.engine.name != on_clips.engine.name
        if _without_engine(on_durable) != _without_engine(on_clips):
            problems.append(f"case {number}: results differ: {json.dumps(case)}")
            continue
        facts = build_facts(case_from_mapping(case), ruleset.fact_definitions)
        if durable.run(facts) != clips.run(facts):
            problems.append(f"case {number}: firing records differ: {json.dumps(case)}")
    return problems


@pytest.fixture(scope="module")
def bundled() -> Any:
    """The bundled clinical ruleset."""
    return load_ruleset()


@pytest.mark.parametrize("path", CASE_FILES, ids=[path.stem for path in CASE_FILES])
def test_case_file_same_on_both_engines(path: Path, bundled: Any) -> None:
    """A case file gives the same result on durable-rules and on CLIPS."""
    case = json.loads(path.read_text(encoding="utf-8"))["case"]
    assert _differences([case], bundled) == []


def test_generated_cases_same_on_both_engines(bundled: Any) -> None:
    """1,000 generated valid cases give the same results on both engines (bundled ruleset)."""
    cases = generate_cases(GENERATED, SEED, ruleset=bundled)
    assert len(cases) == GENERATED
    problems = _differences(cases, bundled)
    assert problems == [], f"{len(problems)} of {GENERATED} differ; first: {problems[:3]}"


def test_generated_cases_same_on_both_engines_starter() -> None:
    """The same holds on the small starter ruleset (different shapes of rules)."""
    starter = load_ruleset(STARTER)
    cases = generate_cases(300, SEED + 1, ruleset=starter)
    assert _differences(cases, starter) == []


@pytest.mark.parametrize(("mix", "count"), [("primary-care", 400), ("neurology", 200)])
def test_synthetic_cohort_same_on_both_engines(bundled: Any, mix: str, count: int) -> None:
    """A synthetic cohort (what 'twitchrules synth' draws) gives the same results on both engines."""
    cases = list(cohort_cases(count, seed=SEED, mix=mix))
    assert len(cases) == count
    problems = _differences(cases, bundled)
    assert problems == [], f"{len(problems)} of {count} differ; first: {problems[:3]}"
