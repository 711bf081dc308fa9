"""durable-rules specifics: per-case state is released and sessions do not accumulate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from twitchrules import evaluate, load_ruleset
from twitchrules.engine import available_engines, get_backend

from .conftest import base_case

pytestmark = pytest.mark.skipif("durable" not in available_engines(),
                                reason="durable-rules does not import on this Python")


def test_state_is_released_after_each_case(starter_ruleset: Path) -> None:
    """After an evaluation the durable-rules session no longer exists (error 309: no state)."""
    from twitchrules.engine import durable_backend

    evaluate(base_case(weakness=True), ruleset=starter_ruleset, engine="durable")
    backend = get_backend(load_ruleset(starter_ruleset), "durable")
    assert isinstance(backend, durable_backend.DurableBackend)
    with pytest.raises(Exception, match="309"):
        backend._host.get_facts(backend._ruleset_name, "case")


def test_more_cases_than_the_session_limit(starter_ruleset: Path) -> None:
    """Far more than 1024 cases run in one process (durable-rules caps open sessions)."""
    for age in range(2000):
        case = base_case(weakness=age % 2 == 0)
        case["patient"]["age"] = age % 120
        evaluate(case, ruleset=starter_ruleset, engine="durable")


def test_a_case_matching_many_rules_at_once_runs_as_on_clips(tmp_path: Path) -> None:
    """A case with most inputs unknown (every possible rule matches; from benchmarks/stress.py)
    runs on durable-rules without corrupting its heap and gives the CLIPS result."""
    if "clips" not in available_engines():
        pytest.skip("clipspy is not installed")
    regions = [("hip", "midline", "2025-12-19"), ("thigh", "midline", "2025-12-04"),
               ("jaw", "both", "2025-11-03"), ("tongue", "right", "2026-01-18"),
               ("eyelid", "right", "2023-11-08"), ("foot", "right", "2022-06-20")]
    case = {
        "assessed_on": "2026-02-01", "patient": {"age": 15, "sex": "female"},
        "twitching": {"regions": [{"region": r, "side": s, "since": d} for r, s, d in regions],
                      "course": "improving", "relieved_by_rest": False},
        "findings": {"metformin": True, "back_pain": False, "potassium_mmol_l": 8.0,
                     "sodium_mmol_l": 109, "lifestyle_trial_outcome": "worse",
                     "weakness_since": "2024-09-26"},
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    results = {}
    for engine in ("durable", "clips"):  # a fresh process each: the corruption showed there
        completed = subprocess.run(
            [str(Path(sys.executable).parent / "twitchrules"), "evaluate", str(path), "--engine", engine,
             "--format", "json"], capture_output=True, text=True, timeout=120, check=False)
        assert completed.returncode == 0, completed.stderr[-500:]
        results[engine] = {key: value for key, value in json.loads(completed.stdout).items()
                           if key != "engine"}
    assert results["durable"] == results["clips"]
    assert results["durable"]["triage"]["level"] == "immediate"
