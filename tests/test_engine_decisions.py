"""Decisions only: the definite rules alone decide a run as the whole program does.

The what-if search runs ``decisions_program`` (``get_backend(..., decisions_only=True)``):
on every case file and a synthetic cohort, and on every available engine, its definite
firings (in order), derived facts, met checklist items and the counts at each firing must
be exactly the whole program's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from twitchrules import load_ruleset
from twitchrules.case import build_facts, case_from_mapping
from twitchrules.engine import EngineRun, available_engines, compile_program, decisions_program, get_backend
from twitchrules.engine.program import DEFINITE
from twitchrules.population import cohort_cases

from .conftest import CASES_DIR

CASES = [json.loads(path.read_text(encoding="utf-8"))["case"] for path in sorted(CASES_DIR.glob("*.json"))]


def _decisions(run: EngineRun) -> tuple[Any, ...]:
    return run.fired, run.derived, run.items_met, run.counter_at_firing


def test_decisions_program_keeps_only_the_definite_rules() -> None:
    """The decisions program holds every definite compiled rule of the program and nothing else."""
    program = compile_program(load_ruleset())
    decisions = decisions_program(program)
    assert decisions.rules == tuple(rule for rule in program.rules if rule.mode == DEFINITE)
    assert all(definite for _, definite in decisions.steps)
    assert decisions.asserts == program.asserts


@pytest.mark.parametrize("engine", available_engines())
def test_decisions_only_runs_decide_as_the_whole_program(engine: str) -> None:
    """On every case file and a synthetic cohort, decisions-only runs fire as the whole program."""
    ruleset = load_ruleset()
    whole = get_backend(ruleset, engine)
    decisions = get_backend(ruleset, engine, decisions_only=True)
    assert decisions is not whole
    count = 300 if engine == "clips" else 60
    differing = []
    for number, case in enumerate(CASES + list(cohort_cases(count, seed=20261203))):
        facts = build_facts(case_from_mapping(case), ruleset.fact_definitions)
        if _decisions(whole.run(facts)) != _decisions(decisions.run(facts)):
            differing.append(number)
    assert differing == []
