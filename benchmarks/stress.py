"""Stress: evaluate many generated valid cases on each backend in one process; watch RSS.

    python benchmarks/stress.py                      # 100,000 cases on each usable backend
    python benchmarks/stress.py --quick              # 300 cases on each: a smoke run
    python benchmarks/stress.py --cases 5000 --engines clips

How long it takes: about 6 ms of CPU per evaluation (measured over 1,000 evaluations on
both engines, durable-rules the slower), so the default run, 100,000 cases and the warm-up on
each of two engines, is about 20 minutes of one core (CI's .ci/run runs it); ``--quick``
(100 warm-up and 300 cases per engine: about 5 s of CPU) shows only that nothing crashes: its
RSS growth over 300 cases says little, so it is reported and not judged. Each engine's line gives its own time.

For each engine: a warm-up (which compiles the ruleset and fills every cache), the RSS after
it, then ``--cases`` evaluations of fresh generated cases (``twitchrules.case.synthetic``, seeded),
the RSS sampled as it goes. Exits non-zero when an evaluation raises or crashes the process,
or when RSS grows by ``--max-growth`` percent (default 10) or more over the warm RSS.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import resource
import sys
import time
from pathlib import Path

from twitchrules import evaluate, load_ruleset
from twitchrules.case.synthetic import iter_cases
from twitchrules.engine import available_engines


def rss_kib() -> int:
    """This process's resident set size now, in KiB (Linux; peak RSS elsewhere)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def stress(engine: str, cases: int, ruleset: object, seed: int, warmup: int) -> dict[str, float]:
    """Evaluate ``cases`` generated cases on ``engine``; return RSS and timing figures."""
    stream = iter_cases(seed, ruleset=ruleset)
    for case in itertools.islice(stream, warmup):
        evaluate(case, ruleset=ruleset, engine=engine)
    gc.collect()
    start = peak = rss_kib()
    samples = [start]
    every = max(1, cases // 20)
    began = time.perf_counter()
    for done, case in enumerate(itertools.islice(stream, cases), start=1):
        evaluate(case, ruleset=ruleset, engine=engine)
        if done % every == 0:
            now = rss_kib()
            peak = max(peak, now)
            samples.append(now)
    elapsed = time.perf_counter() - began
    gc.collect()
    end = rss_kib()
    return {"start_kib": start, "end_kib": end, "peak_kib": max(peak, end),
            "growth_pct": 100.0 * (end - start) / start, "seconds": elapsed,
            "cases_per_s": cases / elapsed if elapsed else float("inf")}


def main(argv: list[str] | None = None) -> int:
    """Run the stress test; print one line per engine; 0 when every engine passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=None,
                        help="cases per engine (default 100,000: minutes; --quick: 300)")
    parser.add_argument("--quick", action="store_true", help="100 warm-up and 300 cases per engine: about 5 s of CPU")
    parser.add_argument("--json", action="store_true", help="print one JSON object with every engine's figures")
    parser.add_argument("--engines", default=",".join(available_engines()),
                        help="comma-separated (default: every usable backend)")
    parser.add_argument("--ruleset", default=None, help="ruleset path (default: bundled)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=None,
                        help="warm-up cases (default: 2%% of --cases, 200..2000)")
    parser.add_argument("--max-growth", type=float, default=10.0, help="percent")
    args = parser.parse_args(argv)
    if args.cases is None:
        args.cases = 300 if args.quick else 100_000
    ruleset = load_ruleset(args.ruleset)
    warmup = (args.warmup if args.warmup is not None
              else 100 if args.quick else min(2000, max(200, args.cases // 50)))
    failed = False
    report: dict[str, object] = {"benchmark": "stress", "quick": args.quick, "cases": args.cases,
                                 "warmup": warmup, "max_growth_pct": args.max_growth, "engines": {}}
    for engine in [name for name in args.engines.split(",") if name]:
        if engine not in available_engines():
            report["engines"][engine] = "not usable on this Python"  # type: ignore[index]
            if not args.json:
                print(f"{engine}: not usable on this Python, skipped")
            continue
        try:
            figures = stress(engine, args.cases, ruleset, args.seed, warmup)
        except Exception as error:  # an evaluation failed: report it, fail the run
            report["engines"][engine] = {"failed": repr(error)}  # type: ignore[index]
            if not args.json:
                print(f"{engine}: FAILED after an exception: {error!r}")
            failed = True
            continue
        ok = figures["growth_pct"] < args.max_growth
        failed = failed or (not ok and not args.quick)  # quick: a smoke run, growth not judged
        report["engines"][engine] = {**{k: round(v, 3) for k, v in figures.items()}, "ok": ok}  # type: ignore[index]
        if args.json:
            continue
        print(f"{engine}: {args.cases} cases in {figures['seconds']:.1f} s "
              f"({figures['cases_per_s']:.0f}/s); RSS {figures['start_kib'] / 1024:.1f} MiB "
              f"after warm-up -> {figures['end_kib'] / 1024:.1f} MiB at the end "
              f"(peak {figures['peak_kib'] / 1024:.1f} MiB), growth {figures['growth_pct']:+.2f}% "
              f"{'ok' if ok else 'FAIL'} (limit {args.max_growth:g}%"
              f"{', not judged in a quick run' if args.quick else ''})", flush=True)
    if args.json:
        print(json.dumps(report))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
