"""The case generator (``twitchrules.case.synthetic``) and the stress script that uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from twitchrules import load_ruleset
from twitchrules.case import build_facts, case_from_mapping
from twitchrules.case.synthetic import generate_cases, iter_cases
from twitchrules.engine import available_engines, default_engine, get_backend

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bundled() -> Any:
    """The bundled clinical ruleset."""
    return load_ruleset()


def test_generated_cases_are_valid_distinct_and_repeatable(bundled: Any) -> None:
    """The same seed gives the same distinct cases, and every one passes the case model."""
    cases = generate_cases(2000, 11, ruleset=bundled)
    assert cases == generate_cases(2000, 11, ruleset=bundled)
    assert cases != generate_cases(2000, 12, ruleset=bundled)
    assert len({repr(case) for case in cases}) == 2000
    for case in cases:
        case_from_mapping(case)
    assert generate_cases(0, 1) == []


def test_stream_matches_list() -> None:
    """``iter_cases`` yields the cases ``generate_cases`` lists (before any repeat)."""
    stream = iter_cases(5)
    assert [next(stream) for _ in range(50)] == generate_cases(50, 5)


@pytest.mark.skipif("clips" not in available_engines(), reason="clipspy is not installed")
def test_generated_cases_exercise_the_ruleset(bundled: Any) -> None:
    """The generated cases fire most rules, so comparisons over them mean something."""
    backend = get_backend(bundled, "clips")
    fired: set[int] = set()
    possible: set[int] = set()
    for case in generate_cases(1000, 20261120, ruleset=bundled):
        run = backend.run(build_facts(case_from_mapping(case), bundled.fact_definitions))
        fired.update(run.fired)
        possible.update(run.possible)
    assert len(fired) >= 0.9 * len(bundled.rules), (
        f"only {len(fired)} of {len(bundled.rules)} rules fired")
    assert len(possible) >= len(fired)


def test_stress_script() -> None:
    """benchmarks/stress.py: no crash, RSS growth under 10%; the default engine is stressed.

    5,000 cases by default; 100,000 (the full stress test) with TWITCHRULES_STRESS=1 in the
    environment.
    """
    cases = "100000" if os.environ.get("TWITCHRULES_STRESS") == "1" else "5000"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "stress.py"), "--cases", cases],
        capture_output=True, text=True, timeout=3600, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"{default_engine()}: {cases} cases" in completed.stdout
