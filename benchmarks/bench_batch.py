"""Benchmark: population replay on Dask: scaling, Dask's cost per core, memory per worker, impact's cost.

Usage: python benchmarks/bench_batch.py [--quick] [--json] [--engine clips] [--cases N] [--rss-cases N] [--rounds R]
       [--only throughput|impact|memory ...]

From one run it prints:

* cases/s of ``batch`` on a LocalCluster with 1 and with 2 worker processes, and the ratio
  (goal >= 1.8x on 2 cores), as medians of interleaved rounds (both clusters stay up, and
  each round runs the in-process loop, 1 worker and 2 workers in turn, so a burst of load
  from elsewhere falls on all three);
* the machine's own ceiling: how much faster two processes of a bare Python loop finish
  than one does (2.0 on two idle cores), and the share of it the batch scaling reaches;
* Dask's cost per core: a plain in-process loop over the same chunks against one Dask worker
  (goal <= 1.15x);
* peak RSS of each worker (and of the client) while ``batch`` streams a synthetic cohort of
  ``--rss-cases`` cases (1,000,000 by default; goal: flat, under 300 MiB), sampled along
  the way so flatness shows;
* impact's cost per case against two evaluations of it in this process.

All cases come from ``twitchrules synth``'s cohort (realistic, not stress cases). Figures
from a shared machine are noisy: compare ratios from one run, not absolute numbers across
runs, and read the scaling only from a machine with two idle cores.

How long: the default evaluates about 1.3 million cases (eleven passes over 20,000, four
evaluations of each of 5,000 for impact, 1,000,000 streamed for memory); at 250 cases/s per
core that is about 1.5 hours on 2 cores, most of it the memory stream (``--rss-cases``
shortens it). ``--quick`` (600, 300 and 6,000 cases, one round) takes about a minute.
Each step and its elapsed time is printed on stderr as it starts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _write_cohort(path: Path, n: int, seed: int) -> None:
    from twitchrules.population.cohort import write_cohort

    write_cohort(path, n, seed)


def _loop_in_process(path: Path, engine: str, chunk_size: int) -> float:
    """Seconds for a plain loop over the chunks in this process (no Dask, same work per chunk)."""
    from twitchrules.engine import cached_ruleset
    from twitchrules.population.lines import InputSource, chunked
    from twitchrules.population.work import Shipment, evaluate_chunk

    shipment = Shipment.of(cached_ruleset(None))
    reader = InputSource(path)
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        for chunk in chunked(reader.lines(), chunk_size):
            sink.write(evaluate_chunk(chunk, shipment, engine).results)
    reader.close()
    return time.perf_counter() - started


_SPIN = "x = 0\nfor i in range(6_000_000):\n    x += i * i"
"""The bare CPU work of the machine's ceiling: a pure Python loop, nothing of ours."""


def _spin(processes: int) -> float:
    """Wall seconds for ``processes`` bare Python loops started together (the slowest of them)."""
    started = time.perf_counter()
    running = [subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.DEVNULL) for _ in range(processes)]
    for process in running:
        process.wait()
    return time.perf_counter() - started


def _machine_ceiling(rounds: int) -> float:
    """How much faster two processes of pure CPU work finish two loops than one process does.

    2.0 on two idle cores; less where the cores are shared (another job, a busy host). The
    batch scaling is read against it: no job can scale better than the machine lets it.
    """
    one = statistics.median(_spin(1) for _ in range(rounds))
    two = statistics.median(_spin(2) for _ in range(rounds))
    return round(2 * one / two, 3)


def _batch_on(runner: Any, path: Path, out: Path, engine: str, chunk_size: int) -> float:
    from twitchrules.population.batch import batch

    started = time.perf_counter()
    batch(path, out, engine=engine, chunk_size=chunk_size, runner=runner)
    return time.perf_counter() - started


def _worker_rss(client: Any) -> dict[str, int]:
    import psutil

    def rss() -> int:
        return int(psutil.Process().memory_info().rss)

    return {address: int(value) for address, value in client.run(rss).items()}


def _rss_run(path: Path, out: Path, engine: str, chunk_size: int, cases: int) -> dict[str, Any]:
    from twitchrules.population.batch import batch
    from twitchrules.population.runners import open_runner

    runner: Any = open_runner(workers=2)
    samples: list[dict[str, Any]] = []
    peak: dict[str, int] = {}
    client_peak = _rss()
    step = max(1, cases // 20)
    next_sample = step

    def on_progress(progress: Any) -> None:
        nonlocal next_sample, client_peak
        client_peak = max(client_peak, _rss())
        if progress.lines >= next_sample:
            next_sample += step
            sizes = _worker_rss(runner.client)
            for address, value in sizes.items():
                peak[address] = max(peak.get(address, 0), value)
            samples.append({"cases": progress.lines, "worker_mib": sorted(round(v / MIB, 1) for v in sizes.values()),
                            "client_mib": round(_rss() / MIB, 1)})

    try:
        started = time.perf_counter()
        batch(path, out, engine=engine, chunk_size=chunk_size, runner=runner, progress=on_progress)
        seconds = time.perf_counter() - started
    finally:
        runner.close()
    return {"cases": cases, "seconds": round(seconds, 1), "samples": samples,
            "peak_worker_mib": round(max(peak.values(), default=0) / MIB, 1),
            "peak_client_mib": round(client_peak / MIB, 1)}


def _impact_cost(path: Path, engine: str, n: int) -> dict[str, float]:
    from twitchrules import evaluate
    from twitchrules.engine import cached_ruleset
    from twitchrules.population.impact import impact
    from twitchrules.population.lines import InputSource, parse_record

    ruleset = cached_ruleset(None)
    reader = InputSource(path)
    records = [parse_record(text)[1] for _, text in reader.lines()]
    reader.close()
    started = time.perf_counter()
    for case in records:
        evaluate(case, ruleset=ruleset, engine=engine).to_json(indent=None)
        evaluate(case, ruleset=ruleset, engine=engine).to_json(indent=None)
    twice = time.perf_counter() - started
    started = time.perf_counter()
    impact(path, ruleset, ruleset, engine=engine, workers=1)
    compared = time.perf_counter() - started
    return {"two_evaluations_ms_per_case": round(1000 * twice / n, 3),
            "impact_ms_per_case": round(1000 * compared / n, 3), "ratio": round(compared / twice, 3)}


QUICK = {"cases": 600, "rss_cases": 6_000, "impact_cases": 300, "rounds": 1}
"""``--quick``: sizes for CI and the docs (about a minute and a half at 100 cases/s per core)."""
FULL = {"cases": 20_000, "rss_cases": 1_000_000, "impact_cases": 5_000, "rounds": 3}
"""The default sizes: 1,000,000 cases for memory (about 1.7 hours on 2 cores: see the module doc)."""

_STARTED = time.perf_counter()


def _phase(text: str) -> None:
    """Say on stderr which step runs (a full run takes hours)."""
    print(f"bench_batch [{time.perf_counter() - _STARTED:7.0f} s] {text}", file=sys.stderr, flush=True)


PARTS = ("throughput", "impact", "memory")
"""The benchmark's parts, in the order they run (``--only`` picks some)."""


def _throughput(folder: Path, engine: str, cases: int, chunk_size: int, rounds: int) -> dict[str, Any]:
    """Cases/s in process, on 1 and on 2 Dask workers (medians of interleaved rounds), the
    scaling, the machine's ceiling and Dask's cost per core."""
    from twitchrules.population.runners import open_runner

    source = folder / "cohort.jsonl"
    _write_cohort(source, cases, seed=1)
    out = folder / "results.jsonl"
    _phase("the machine's own ceiling: one, then two processes of a bare Python loop")
    ceiling = _machine_ceiling(rounds)
    _phase("starting a 1-worker and a 2-worker local Dask cluster, warming both")
    runners: dict[int, Any] = {1: _one_worker_cluster(), 2: open_runner(workers=2)}
    loop_times: list[float] = []
    timings: dict[int, list[float]] = {1: [], 2: []}
    try:
        for runner in runners.values():
            _batch_on(runner, source, out, engine, chunk_size)  # warm the workers
        _loop_in_process(source, engine, chunk_size)  # and this process
        for round_number in range(1, rounds + 1):
            _phase(f"round {round_number} of {rounds}: {cases:,} cases in process, on 1 worker, on 2")
            loop_times.append(_loop_in_process(source, engine, chunk_size))
            for workers, runner in runners.items():
                timings[workers].append(_batch_on(runner, source, out, engine, chunk_size))
    finally:
        for runner in runners.values():
            runner.close()
    loop_seconds = statistics.median(loop_times)
    one, two = statistics.median(timings[1]), statistics.median(timings[2])
    scaling = round(one / two, 3)
    return {"machine_parallel_ceiling": ceiling, "rounds": rounds,
            "in_process_loop_cases_per_s": round(cases / loop_seconds, 1),
            "dask_1_worker_cases_per_s": round(cases / one, 1),
            "dask_2_workers_cases_per_s": round(cases / two, 1),
            "scaling_2_vs_1": scaling, "scaling_of_ceiling": round(scaling / ceiling, 3),
            "dask_cost_per_core": round(one / loop_seconds, 3),
            "round_seconds": {"in_process": [round(t, 3) for t in loop_times],
                              "dask_1_worker": [round(t, 3) for t in timings[1]],
                              "dask_2_workers": [round(t, 3) for t in timings[2]]}}


def _print(figures: dict[str, Any], quick: bool) -> None:
    """The figures as a short human report (the parts that ran)."""
    print(f"bench_batch ({'quick' if quick else 'full'}; engine {figures['engine']}; {figures['cores']} cores; "
          f"chunk {figures['chunk_size']}) - a shared machine: figures are noisy")
    if "scaling_2_vs_1" in figures:
        print(f"  {figures['cases']:,} cohort cases per run, medians of {figures['rounds']} rounds")
        print(f"  in-process loop        {figures['in_process_loop_cases_per_s']:>9,.1f} cases/s")
        print(f"  Dask, 1 worker         {figures['dask_1_worker_cases_per_s']:>9,.1f} cases/s   "
              f"Dask's cost per core {figures['dask_cost_per_core']:.3f}x (goal <= 1.15x)")
        print(f"  Dask, 2 workers        {figures['dask_2_workers_cases_per_s']:>9,.1f} cases/s   "
              f"scaling {figures['scaling_2_vs_1']:.2f}x (goal >= 1.8x on 2 cores)")
        print(f"  the machine's ceiling  {figures['machine_parallel_ceiling']:.2f}x for two bare CPU loops; "
              f"batch reaches {figures['scaling_of_ceiling']:.0%} of it")
    if "impact" in figures:
        impact_figures = figures["impact"]
        print(f"  impact                 {impact_figures['impact_ms_per_case']:.2f} ms/case against "
              f"{impact_figures['two_evaluations_ms_per_case']:.2f} ms for two evaluations: "
              f"{impact_figures['ratio']:.2f}x")
    if "memory" in figures:
        memory = figures["memory"]
        print(f"  memory over {memory['cases']:,} cases ({memory['seconds']:,.0f} s, 2 workers): peak worker RSS "
              f"{memory['peak_worker_mib']:.1f} MiB (goal < 300, flat), client {memory['peak_client_mib']:.1f} MiB")
        for sample in memory["samples"][:: max(1, len(memory["samples"]) // 5)]:
            print(f"    after {sample['cases']:>9,} cases: workers {sample['worker_mib']} MiB, "
                  f"client {sample['client_mib']} MiB")


def main() -> int:
    """Run the benchmark and print its figures (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"small sizes for CI and the docs: {QUICK}")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--engine", default=None, help="engine (default: the default engine)")
    parser.add_argument("--cases", type=int, default=None,
                        help=f"cases for the throughput runs (default {FULL['cases']:,})")
    parser.add_argument("--rss-cases", type=int, default=None,
                        help=f"cases streamed for peak RSS (default {FULL['rss_cases']:,})")
    parser.add_argument("--chunk-size", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved rounds of the throughput runs, medians reported (default 3, quick 1)")
    parser.add_argument("--only", action="append", choices=PARTS, default=None,
                        help="run only this part (repeatable; default: all of them, in this order)")
    args = parser.parse_args()

    from twitchrules.engine import choose_engine
    from twitchrules.population.runners import dask_available

    if not dask_available():
        print("bench_batch: needs Dask distributed: pip install 'twitchrules[scale]'", file=sys.stderr)
        return 2
    engine = choose_engine(args.engine)
    sizes = QUICK if args.quick else FULL
    parts = [part for part in PARTS if args.only is None or part in args.only]
    cases = args.cases or sizes["cases"]
    figures: dict[str, Any] = {"engine": engine, "cores": len(os.sched_getaffinity(0)), "cases": cases,
                               "chunk_size": args.chunk_size, "quick": args.quick, "parts": parts}
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp)
        if "throughput" in parts:
            figures.update(_throughput(folder, engine, cases, args.chunk_size, args.rounds or sizes["rounds"]))
        if "impact" in parts:
            impact_cases = min(cases, sizes["impact_cases"])
            impact_source = folder / "impact.jsonl"
            _write_cohort(impact_source, impact_cases, seed=2)
            _phase(f"impact against two evaluations over {impact_cases:,} cases")
            figures["impact"] = _impact_cost(impact_source, engine, impact_cases)
        if "memory" in parts:
            rss_cases = args.rss_cases or sizes["rss_cases"]
            rss_source = folder / "rss.jsonl.gz"
            _write_cohort(rss_source, rss_cases, seed=3)
            _phase(f"peak RSS over {rss_cases:,} cases on 2 workers")
            figures["memory"] = _rss_run(rss_source, folder / "rss-results.jsonl", engine, args.chunk_size,
                                         rss_cases)
            figures["rss_input_gz_mib"] = round(rss_source.stat().st_size / MIB, 1)
    figures["seconds"] = round(time.perf_counter() - _STARTED, 1)
    _phase("done")
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        _print(figures, args.quick)
    return 0


def _one_worker_cluster() -> Any:
    """A LocalCluster with one worker process (``workers=1`` alone would run in this process)."""
    import distributed

    from twitchrules.population.runners import DaskRunner, local_cluster

    cluster = local_cluster(1)
    client: Any = distributed.Client(cluster)
    return DaskRunner(client, cluster, "1 worker process on a local Dask cluster")

if __name__ == "__main__":
    sys.exit(main())
