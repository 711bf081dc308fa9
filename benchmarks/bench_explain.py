"""Benchmark: explain() per case (why, why not, and the capped what-if search on the engine).

Usage: python benchmarks/bench_explain.py [--json] [--engine clips] [--max-runs N] [--repeat N] [--quick]

The default run (every case file, 3 repeats, every engine) takes a few minutes on a quiet
2-core machine (durable-rules is the slow part); ``--quick`` (10 case files, once, the
default engine) takes well under a minute and is a smoke run, not a measurement.

Runs every case file of the bundled ruleset (rulesets/twitching/tests) warm, on each engine
asked for (default: every available one), and prints explain() p50/p95 per case in ms, the
engine runs the what-if search made (mean, max) against its cap, how many cases hit the cap,
and the same case's plain evaluate() p50 for scale. Each time is wall-clock; the CPU time
beside it (this thread) is what a machine loaded by other work inflates far less. Goal:
explain() p50 under 50 ms per case on the default engine. Figures from a shared machine are
noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from twitchrules import available_engines, default_engine, evaluate, explain, load_ruleset
from twitchrules.explain import DEFAULT_MAX_RUNS

CASES = Path(__file__).resolve().parent.parent / "rulesets" / "twitching" / "tests"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure(engine: str, cases: list[dict[str, Any]], max_runs: int, repeat: int) -> dict[str, Any]:
    """explain() and evaluate() timings for one engine over the cases."""
    ruleset = load_ruleset()
    for case in cases:  # warm: compiled rules, caches
        explain(case, ruleset=ruleset, engine=engine, max_runs=max_runs)
    explain_ms: list[float] = []
    explain_cpu_ms: list[float] = []
    evaluate_ms: list[float] = []
    runs: list[int] = []
    capped = 0
    for _ in range(repeat):
        for case in cases:
            start, start_cpu = time.perf_counter(), time.thread_time()
            found = explain(case, ruleset=ruleset, engine=engine, max_runs=max_runs)
            explain_ms.append((time.perf_counter() - start) * 1000)
            explain_cpu_ms.append((time.thread_time() - start_cpu) * 1000)
            start = time.perf_counter()
            evaluate(case, ruleset=ruleset, engine=engine)
            evaluate_ms.append((time.perf_counter() - start) * 1000)
            runs.append(found.search.engine_runs)
            capped += found.search.capped
    return {"engine": engine, "default": engine == default_engine(), "cases": len(cases),
            "repeat": repeat, "cap": max_runs,
            "explain_p50_ms": round(percentile(explain_ms, 50), 2),
            "explain_p95_ms": round(percentile(explain_ms, 95), 2),
            "explain_cpu_p50_ms": round(percentile(explain_cpu_ms, 50), 2),
            "explain_cpu_p95_ms": round(percentile(explain_cpu_ms, 95), 2),
            "evaluate_p50_ms": round(percentile(evaluate_ms, 50), 2),
            "engine_runs_mean": round(statistics.mean(runs), 1), "engine_runs_max": max(runs),
            "capped_cases": capped // repeat,
            "goal_p50_under_50_ms": percentile(explain_ms, 50) < 50,
            "goal_cpu_p50_under_50_ms": percentile(explain_cpu_ms, 50) < 50}


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--engine", action="append", default=None)
    parser.add_argument("--max-runs", type=int, default=DEFAULT_MAX_RUNS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--quick", action="store_true",
                        help="10 case files, once, the default engine: a smoke run (under a minute)")
    args = parser.parse_args()
    cases = [json.loads(path.read_text(encoding="utf-8"))["case"] for path in sorted(CASES.glob("*.json"))]
    if args.quick:
        cases, args.repeat = cases[:10], 1
        args.engine = args.engine or [default_engine()]
    rows = [measure(engine, cases, args.max_runs, args.repeat)
            for engine in args.engine or available_engines()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        mark = " (default)" if row["default"] else ""
        print(f"[{row['engine']}{mark}] explain p50 {row['explain_p50_ms']} ms, p95 "
              f"{row['explain_p95_ms']} ms per case (CPU {row['explain_cpu_p50_ms']} / "
              f"{row['explain_cpu_p95_ms']} ms; {row['cases']} cases x {row['repeat']}); "
              f"engine runs mean {row['engine_runs_mean']}, max {row['engine_runs_max']} of cap "
              f"{row['cap']}; {row['capped_cases']} cases at the cap; evaluate p50 "
              f"{row['evaluate_p50_ms']} ms; goal p50 < 50 ms: {row['goal_p50_under_50_ms']} "
              f"(CPU: {row['goal_cpu_p50_under_50_ms']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
