"""Benchmark: warm evaluate() per case against the engine's raw floor, and RSS over many cases.

Usage: python benchmarks/bench_evaluate.py [--cases 2000] [--rss-evaluations 100000]

For each available engine it prints: evaluate() p50/p99 per case and cases/s; the floor
(pydantic validation of the same cases + the same compiled rules on the same engine with bare
actions that only assert derived facts: no trace, no result model); the ratio; and RSS
before and after N evaluations. No result is cached anywhere: every case is distinct.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from twitchrules import Case, available_engines, evaluate, load_ruleset
from twitchrules.case import build_facts
from twitchrules.case.synthetic import generate_cases
from twitchrules.engine import get_backend


def rss_kib() -> int:
    """Resident set size of this process in KiB."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * 4096 // 1024


def timed(fn: Callable[[Any], Any], cases: list[dict[str, Any]]) -> list[float]:
    """Per-case wall times in microseconds."""
    times = []
    for case in cases:
        start = time.perf_counter()
        fn(case)
        times.append((time.perf_counter() - start) * 1e6)
    return times


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rss-evaluations", type=int, default=100_000)
    parser.add_argument("--engine", action="append", default=None)
    parser.add_argument("--ruleset", default=None, help="ruleset path (default: bundled)")
    args = parser.parse_args()

    ruleset = load_ruleset(args.ruleset)
    cases = generate_cases(args.cases)
    print(f"ruleset {ruleset.name} {ruleset.version} ({len(ruleset.rules)} rules), "
          f"{len(cases)} distinct generated cases")
    rows = []
    for engine in args.engine or available_engines():
        backend = get_backend(ruleset, engine)

        def full(case: dict[str, Any], engine: str = engine) -> Any:
            return evaluate(case, ruleset=ruleset, engine=engine)

        def floor(case: dict[str, Any], backend: Any = backend) -> Any:
            checked = Case.model_validate(case)
            return backend.run(build_facts(checked, ruleset.fact_definitions))

        for case in cases[:200]:  # warm both paths
            full(case)
            floor(case)
        full_times = timed(full, cases)
        floor_times = timed(floor, cases)
        facts = [build_facts(Case.model_validate(case), ruleset.fact_definitions) for case in cases]
        engine_times = timed(backend.run, facts)  # the engine alone, on facts built beforehand
        p50, p99 = percentile(full_times, 50), percentile(full_times, 99)
        f50, f99 = percentile(floor_times, 50), percentile(floor_times, 99)
        ratio = statistics.mean(full_times) / statistics.mean(floor_times)
        rows.append((engine, p50, p99, 1e6 / statistics.mean(full_times), f50, f99, ratio,
                     f"{backend.name} {backend.version}", percentile(engine_times, 50),
                     percentile(engine_times, 99)))
        print(f"[{backend.name} {backend.version}] evaluate p50 {p50:.0f} us, p99 {p99:.0f} us, "
              f"{1e6 / statistics.mean(full_times):.0f} cases/s | floor p50 {f50:.0f} us, "
              f"p99 {f99:.0f} us | ratio (mean evaluate / mean floor) {ratio:.2f}")

        if args.rss_evaluations:
            before = rss_kib()
            start = time.perf_counter()
            for i in range(args.rss_evaluations):
                full(cases[i % len(cases)])
            elapsed = time.perf_counter() - start
            after = rss_kib()
            print(f"[{backend.name}] RSS before {before} KiB, after {args.rss_evaluations} "
                  f"evaluations {after} KiB, growth {100 * (after - before) / before:.1f}% "
                  f"({elapsed:.0f} s)")
    if len(rows) > 1:
        base = rows[0]
        for row in rows[1:]:
            print(f"speed-up {row[0]} over {base[0]} (p50): {base[1] / row[1]:.1f}x")
        print_side_by_side(rows)
    return 0


def print_side_by_side(rows: list[tuple[Any, ...]]) -> None:
    """The engines in columns, one figure per line, and each one's speed-up over the first."""
    lines = [
        ("evaluate p50 (us)", lambda row: f"{row[1]:.0f}"),
        ("evaluate p99 (us)", lambda row: f"{row[2]:.0f}"),
        ("evaluate cases/s", lambda row: f"{row[3]:.0f}"),
        ("floor p50 (us)", lambda row: f"{row[4]:.0f}"),
        ("floor p99 (us)", lambda row: f"{row[5]:.0f}"),
        ("ratio evaluate/floor (mean)", lambda row: f"{row[6]:.2f}"),
        ("engine run p50 (us)", lambda row: f"{row[8]:.0f}"),
        ("engine run p99 (us)", lambda row: f"{row[9]:.0f}"),
        (f"evaluate p50 speed-up vs {rows[0][0]}", lambda row: f"{rows[0][1] / row[1]:.1f}x"),
        (f"engine run p50 speed-up vs {rows[0][0]}", lambda row: f"{rows[0][8] / row[8]:.1f}x"),
    ]
    width = max(len(label) for label, _ in lines) + 2
    print()
    print("".ljust(width) + "".join(row[7].rjust(24) for row in rows))
    for label, cell in lines:
        print(label.ljust(width) + "".join(cell(row).rjust(24) for row in rows))


if __name__ == "__main__":
    sys.exit(main())
