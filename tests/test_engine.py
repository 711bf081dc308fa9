"""The engine: forward chaining, isolation between cases, threads, released state, errors."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from twitchrules import EngineError, evaluate, load_ruleset
from twitchrules.engine import Session, available_engines, get_backend

from .conftest import base_case

pytestmark = pytest.mark.parametrize("engine", available_engines())


def _persistent_spreading(**findings: object) -> dict:
    case = base_case(**findings)
    case["twitching"]["regions"] = [
        {"region": "forearm", "side": "right", "since": "2026-08-20"},
        {"region": "thigh", "side": "left", "since": "2026-11-01"},
    ]
    case["twitching"]["relieved_by_rest"] = False
    return case


def test_chain_three_rules_deep(engine: str, starter_ruleset: Path) -> None:
    """Dates -> persists -> checklist item met -> count >= 2 -> referral, in firing order."""
    result = evaluate(_persistent_spreading(), ruleset=starter_ruleset, engine=engine)
    fired = [entry.rule for entry in result.trace]
    chain = ["DUR-PERSISTS", "CL-PERSISTS", "CL-REFERRAL"]
    assert [rule for rule in fired if rule in chain] == chain
    referral = next(entry for entry in result.trace if entry.rule == "CL-REFERRAL")
    assert referral.matched == {"checklist_met_count": 2}
    assert result.checklist.count == 2 and result.checklist.referral
    assert "CL-REFERRAL" in result.triage.rules


def test_no_fact_leaks_between_cases(engine: str, starter_ruleset: Path) -> None:
    """A case evaluated after another carries none of the first one's facts."""
    first = evaluate(_persistent_spreading(weakness=True), ruleset=starter_ruleset, engine=engine)
    second = evaluate(base_case(), ruleset=starter_ruleset, engine=engine)
    assert "RF-WEAKNESS" in [e.rule for e in first.trace]
    assert not {"RF-WEAKNESS", "DUR-PERSISTS", "CL-REFERRAL"} & {e.rule for e in second.trace}
    again = evaluate(base_case(), ruleset=starter_ruleset, engine=engine)
    assert again.to_json() == second.to_json()


def test_threads_get_their_own_answers(engine: str, starter_ruleset: Path) -> None:
    """Two threads evaluating different cases at once both get the sequential answers."""
    cases = [_persistent_spreading(weakness=True, muscle_wasting=True), base_case(weakness=False)]
    expected = [evaluate(c, ruleset=starter_ruleset, engine=engine).to_json() for c in cases]
    failures: list[str] = []

    def work(index: int) -> None:
        for _ in range(150):
            got = evaluate(cases[index], ruleset=starter_ruleset, engine=engine).to_json()
            if got != expected[index]:
                failures.append(f"thread {index} got a different answer")
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_same_case_same_bytes(engine: str, starter_ruleset: Path) -> None:
    """The same case and ruleset always give byte-identical JSON."""
    case = _persistent_spreading(weakness=True, caffeine_mg_per_day=600)
    outputs = {evaluate(case, ruleset=starter_ruleset, engine=engine).to_json() for _ in range(5)}
    assert len(outputs) == 1


def _break_recording(patch: pytest.MonkeyPatch, engine: str, error: Exception) -> None:
    """Make the Python side of a firing raise: ``Session.fire`` (durable-rules' actions, CLIPS
    live mode), or the record CLIPS' native mode assembles from its trace."""
    def broken(*_args: Any) -> Any:
        raise error

    if engine == "clips":
        from twitchrules.engine import clips_backend

        patch.setattr(clips_backend, "record_from_firings", broken)
    else:
        patch.setattr(Session, "fire", broken)


def test_action_error_propagates(engine: str, starter_ruleset: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception while a firing is recorded surfaces as EngineError, not a silent result."""
    _break_recording(monkeypatch, engine, RuntimeError("boom in action"))
    with pytest.raises(EngineError, match="boom in action"):
        evaluate(base_case(), ruleset=starter_ruleset, engine=engine)


def test_engine_recovers_after_an_error(engine: str, starter_ruleset: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """After a failed evaluation the next one is correct (state was released)."""
    expected = evaluate(base_case(), ruleset=starter_ruleset, engine=engine).to_json()
    with monkeypatch.context() as patch:
        _break_recording(patch, engine, ZeroDivisionError("division by zero"))
        with pytest.raises(EngineError):
            evaluate(_persistent_spreading(), ruleset=starter_ruleset, engine=engine)
    assert evaluate(base_case(), ruleset=starter_ruleset, engine=engine).to_json() == expected


def test_engine_is_named_in_result(engine: str, starter_ruleset: Path) -> None:
    """The result says which engine produced it."""
    result = evaluate(base_case(), ruleset=starter_ruleset, engine=engine)
    backend = get_backend(load_ruleset(starter_ruleset), engine)
    assert result.engine.name == backend.name
    assert result.engine.version == backend.version
