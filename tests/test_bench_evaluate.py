"""benchmarks/bench_evaluate.py: a small run writes every figure under its stable name.

What is checked is the benchmark's output (its names, that each figure was measured, the
ratios computed from them), never a speed: speed goals are judged from full runs, not tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STABLE = ("raw_floor_us", "decisions_us", "evaluate_us", "to_json_us", "serialiser_floor_us",
          "cli_process_ms", "cli_first_run_ms", "bare_import_process_ms", "import_ms")
"""The p50 figures the README's table and the issue's goals are stated in."""

STEPS = ("build_facts", "engine_run", "triage", "differential", "recommendations",
         "checklist", "missing_information", "notices", "trace", "result_models")


def test_small_run_writes_every_figure(tmp_path: Path) -> None:
    """40 cases and one process run: every stable name holds a positive figure, the ratios
    are those figures' quotients, and the steps of ``evaluate`` are each timed."""
    out = tmp_path / "bench.json"
    env = {**os.environ, "TWITCHRULES_CACHE_DIR": str(tmp_path / "cache")}
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_evaluate.py"), "--cases", "40",
         "--process-runs", "1", "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["cases"] == 40 and figures["process_runs"] == 1
    for name in STABLE:
        assert isinstance(figures[name], float) and figures[name] > 0, name
    assert figures["engine"] == "clips" and figures["engine_version"]
    ratios = figures["ratios"]
    assert ratios["evaluate_over_raw_floor"] == round(
        figures["evaluate_us"] / figures["raw_floor_us"], 2)
    assert ratios["to_json_over_serialiser_floor"] == round(
        figures["to_json_us"] / figures["serialiser_floor_us"], 2)
    assert ratios["serialiser_floor_over_raw_floor"] == round(
        figures["serialiser_floor_us"] / figures["raw_floor_us"], 2)
    assert ratios["cli_over_bare_import"] == round(
        figures["cli_process_ms"] / figures["bare_import_process_ms"], 2)
    assert set(figures["stages_p50_us"]) == set(STEPS)
    assert all(value > 0 for value in figures["stages_p50_us"].values())
    assert "evaluate_us" in completed.stdout  # the table on stdout names the figures too
