"""Benchmark: drive the running CDS Hooks service at a steady rate, then a ramp; report latency.

By default it starts ``twitchrules serve`` in a second process on a free loopback port,
then sends patient-view calls built from the clinical case files (as FHIR resources in the
prefetch) over real HTTP, open loop (request i leaves at i / rate whatever the replies do):

1. **steady**: ``--rate`` requests/s held for ``--duration`` seconds (default 100/s for 60 s):
   p50/p90/p99/max latency and errors; the goal is p99 < 20 ms with no errors;
2. **ramp**: steps of ``--step-seconds`` each (default 10 s), the rate x1.5 a step from the
   steady rate up to ``--max-rate``, until a step's p99 reaches ``--ramp-p99-ms`` (50 ms) or
   errors appear: the rate at which p99 crosses 50 ms is reported (or that it did not up to
   the last rate tried).

Each phase also reports how late the client sent its requests (``send_lag_ms``, p99): when
that grows, the client, not the server, is what was measured, and the figure says so. When it
started the server, the benchmark reports the server's resident memory (all its processes)
before and after.

    python benchmarks/bench_service.py                 # 60 s at 100/s, then the ramp: about 2-3 min
    python benchmarks/bench_service.py --quick         # 10/s for 3 s, then 1 s steps to 80/s: about 15 s
    python benchmarks/bench_service.py --no-ramp --rate 200 --duration 10
    python benchmarks/bench_service.py --workers 2       # the server with two worker processes
    python benchmarks/bench_service.py --url http://127.0.0.1:8080   # a server you started

``--quick`` (what CI and the docs run) only shows that the service answers under load, at
rates a busy shared machine keeps up with: its percentiles come from few requests and say
little, so it exits 1 on errors only and reports the goals without judging them. ``--json``
prints the figures as one JSON object. RSS growth over 100,000 evaluations (the other half of
the service goal) is ``benchmarks/stress.py``.

Only loopback targets are allowed: this is a local benchmark, never a load test of someone
else's server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.service.hookdata when run from a checkout

from tests.service.hookdata import case_request  # noqa: E402

SERVICE_PATH = "/cds-services/twitching-assessment"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _cases() -> list[dict]:
    """The clinical case files' cases, else the bundled examples."""
    paths = sorted((ROOT / "rulesets" / "twitching" / "tests").glob("*.json"))
    cases = [json.loads(p.read_text(encoding="utf-8"))["case"] for p in paths]
    if not cases:
        cases = [json.loads(p.read_text(encoding="utf-8"))
                 for p in sorted((ROOT / "examples").glob("*.json"))]
    return cases


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_server(audit_log: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    command = [sys.executable, "-c", "from twitchrules.cli import main; main()", "serve",
               "--host", "127.0.0.1", "--port", str(port), "--audit-log", str(audit_log),
               "--log-level", "warning", "--workers", str(workers)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/cds-services", timeout=1).status_code == 200:
                if workers == 1:
                    return process, url
                if len(_process_tree(process.pid)) > workers:  # the supervisor and each worker
                    time.sleep(2)  # the other workers' start (each answers a made-up case first)
                    return process, url
            time.sleep(0.1)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("the server did not start within 30 s")


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux ``/proc``; just ``pid`` elsewhere)."""
    found, index = [pid], 0
    while index < len(found):
        try:
            tasks = Path(f"/proc/{found[index]}/task").iterdir()
            found += [int(child) for task in tasks
                      for child in (task / "children").read_text().split()]
        except OSError:
            pass
        index += 1
    return found


def _rss_kib(pid: int) -> int | None:
    """The resident set size of process ``pid`` and its descendants (the workers of
    ``--workers``) in KiB (Linux), else ``None``."""
    total = None
    for member in _process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total = (total or 0) + int(line.split()[1])
        except OSError:
            pass
    return total


async def _phase(client: httpx.AsyncClient, bodies: list[bytes], rate: float, duration: float) -> dict:
    """Send ``rate`` requests/s for ``duration`` s, open loop; latencies, send lags, errors."""
    latencies: list[float] = []
    lags: list[float] = []
    errors: dict[str, int] = {}
    total = max(1, int(rate * duration))

    async def one(index: int) -> None:
        body = bodies[index % len(bodies)]
        started = time.perf_counter()
        try:
            response = await client.post(SERVICE_PATH, content=body,
                                         headers={"content-type": "application/json"})
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or len(response.json()["cards"]) != 1:
                errors[f"status {response.status_code}"] = (
                    errors.get(f"status {response.status_code}", 0) + 1)
        except httpx.HTTPError as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

    tasks = []
    began = time.perf_counter()
    for index in range(total):
        due = began + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(max(0.0, time.perf_counter() - due))
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    return {"latencies": latencies, "lags": lags, "errors": errors, "sent": total,
            "elapsed": time.perf_counter() - began, "rate": rate}


async def _drive(url: str, bodies: list[bytes], args: argparse.Namespace) -> dict:
    """The steady phase, then (unless ``--no-ramp``) the ramp's steps until p99 crosses."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:
        # Warm up: the first calls load the ruleset, engine and models.
        for body in bodies[:5]:
            await client.post(SERVICE_PATH, content=body,
                              headers={"content-type": "application/json"})
        steady = await _phase(client, bodies, args.rate, args.duration)
        steps: list[dict] = []
        rate = args.rate
        while args.ramp and rate <= args.max_rate:
            step = await _phase(client, bodies, rate, args.step_seconds)
            steps.append(step)
            if sum(step["errors"].values()) or _figures(step)["p99"] >= args.ramp_p99_ms:
                break
            rate = round(rate * 1.5, 1)
    return {"steady": steady, "ramp": steps}


def _figures(phase: dict) -> dict:
    """A phase's latency percentiles (ms), send lag p99 (ms) and error count."""
    ms = sorted(value * 1000 for value in phase["latencies"])
    lags = sorted(value * 1000 for value in phase["lags"])
    p50, p90, p99 = (_percentile(ms, f) for f in (0.50, 0.90, 0.99)) if ms else (0.0, 0.0, 0.0)
    return {"rate_per_s": phase["rate"], "sent": phase["sent"], "elapsed_s": round(phase["elapsed"], 3),
            "p50": round(p50, 3), "p90": round(p90, 3), "p99": round(p99, 3),
            "max": round(ms[-1], 3) if ms else None,
            "mean": round(statistics.fmean(ms), 3) if ms else None,
            "send_lag_p99_ms": round(_percentile(lags, 0.99), 3) if lags else None,
            "errors": sum(phase["errors"].values()), "error_kinds": phase["errors"]}


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 if the steady phase meets the goal (quick: no errors), else 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=None, help="steady requests per second (default 100)")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds the steady rate is held (default 60)")
    parser.add_argument("--quick", action="store_true",
                        help="10/s for 3 s, ramp steps of 1 s up to 80/s: a smoke run for CI and the docs")
    parser.add_argument("--no-ramp", dest="ramp", action="store_false", help="the steady phase only")
    parser.add_argument("--step-seconds", type=float, default=None, help="each ramp step (default 10)")
    parser.add_argument("--max-rate", type=float, default=None, help="the ramp's last rate (default 2000)")
    parser.add_argument("--ramp-p99-ms", type=float, default=50.0, help="the p99 the ramp looks for")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--url", default=None, help="a running service (loopback only)")
    parser.add_argument("--goal-p99-ms", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes of the server it starts (serve --workers; default 1)")
    args = parser.parse_args(argv)
    if args.rate is None:
        args.rate = 10.0 if args.quick else 100.0
    if args.duration is None:
        args.duration = 3.0 if args.quick else 60.0
    if args.step_seconds is None:
        args.step_seconds = 1.0 if args.quick else 10.0
    if args.max_rate is None:
        args.max_rate = 80.0 if args.quick else 2000.0
    if args.rate <= 0 or not 0 < args.duration <= 600 or not 0 < args.step_seconds <= 600:
        parser.error("--rate must be > 0, --duration and --step-seconds in (0, 600]")
    if not 1 <= args.workers <= 64:
        parser.error("--workers must be in [1, 64]")
    if args.url and urlsplit(args.url).hostname not in LOOPBACK:
        parser.error("--url must be a loopback address (127.0.0.1, localhost, ::1)")

    bodies = [json.dumps(case_request(case, patient_id=f"bench{i}")).encode()
              for i, case in enumerate(_cases())]
    process = None
    rss: dict[str, int | None] = {}
    with tempfile.TemporaryDirectory() as scratch:
        url = args.url
        if url is None:
            process, url = _start_server(Path(scratch) / "audit.jsonl", args.workers)
            rss["server_rss_start_kib"] = _rss_kib(process.pid)
        try:
            run = asyncio.run(_drive(url, bodies, args))
            if process is not None:
                rss["server_rss_end_kib"] = _rss_kib(process.pid)
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
    steady = _figures(run["steady"])
    steps = [_figures(step) for step in run["ramp"]]
    crossed = next((step for step in steps if step["p99"] >= args.ramp_p99_ms or step["errors"]), None)
    ok = steady["errors"] == 0 and steady["sent"] > 0 and steady["p99"] < args.goal_p99_ms
    passed = (steady["errors"] == 0 and steady["sent"] > 0) if args.quick else ok  # quick: a smoke run
    figures = {
        "benchmark": "bench_service", "quick": args.quick, "server": url, "distinct_cases": len(bodies),
        "workers": None if args.url else args.workers,
        "rate_per_s": args.rate, "duration_s": args.duration, "sent": steady["sent"],
        "elapsed_s": steady["elapsed_s"],
        "latency_ms": {key: steady[key] for key in ("p50", "p90", "p99", "max", "mean")},
        "send_lag_p99_ms": steady["send_lag_p99_ms"], "errors": run["steady"]["errors"],
        "goal_p99_ms": args.goal_p99_ms, "goal_met": ok,
        "ramp": steps, "ramp_p99_ms": args.ramp_p99_ms,
        "p99_crosses_at_rate_per_s": crossed["rate_per_s"] if crossed else None,
        "ramp_highest_rate_below_per_s": max((step["rate_per_s"] for step in steps
                                              if step is not crossed and not step["errors"]), default=None),
        **rss}
    if args.json:
        print(json.dumps(figures))
        return 0 if passed else 1
    print(f"bench_service: {steady['sent']} requests at {args.rate:g}/s over "
          f"{steady['elapsed_s']:.1f} s ({len(bodies)} distinct cases), server {url}")
    if steady["sent"]:
        print(f"latency ms: p50 {steady['p50']:.2f}  p90 {steady['p90']:.2f}  p99 {steady['p99']:.2f}  "
              f"max {steady['max']:.2f}  mean {steady['mean']:.2f}  (send lag p99 "
              f"{steady['send_lag_p99_ms']:.2f})")
    print(f"errors: {steady['errors']} {run['steady']['errors'] or ''}".rstrip())
    print(f"goal p99 < {args.goal_p99_ms:g} ms and no errors: {'met' if ok else 'NOT met'}"
          + (" (not judged in a quick run)" if args.quick else ""))
    for step in steps:
        print(f"ramp {step['rate_per_s']:g}/s for {step['elapsed_s']:.1f} s: p99 {step['p99']:.2f} ms, "
              f"errors {step['errors']}, send lag p99 {step['send_lag_p99_ms']:.2f} ms")
    if steps:
        print(f"p99 crosses {args.ramp_p99_ms:g} ms at: "
              + (f"{crossed['rate_per_s']:g}/s" if crossed
                 else f"not crossed up to {steps[-1]['rate_per_s']:g}/s"))
    if rss.get("server_rss_start_kib") and rss.get("server_rss_end_kib"):
        print(f"server RSS: {rss['server_rss_start_kib'] / 1024:.1f} MiB after start -> "
              f"{rss['server_rss_end_kib'] / 1024:.1f} MiB after the run")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
