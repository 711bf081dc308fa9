"""batch and impact on an existing Dask cluster: `dask scheduler` and `dask worker` as separate processes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import twitchrules
from twitchrules import batch, impact
from twitchrules.engine import cached_ruleset
from twitchrules.population.cohort import cohort_lines
from twitchrules.resources import data_dir

from .conftest import STARTER
from .test_cli import run

pytest.importorskip("distributed", reason="the scale extra (Dask distributed) is part of [dev]")

DASK = shutil.which("dask") or str(Path(sys.executable).parent / "dask")


def _start(*args: str, env: dict[str, str] | None = None, log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # noqa: SIM115 - the process owns it until it ends
    return subprocess.Popen([DASK, *args], stdout=handle, stderr=subprocess.STDOUT, env=env)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)


def _wait_for_workers(address: str, count: int) -> None:
    from distributed import Client

    with Client(address, timeout="20s") as client:
        client.wait_for_workers(count, timeout=300)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and one worker started as `dask` processes on loopback; yields the address."""
    folder = tmp_path_factory.mktemp("cluster")
    info = folder / "scheduler.json"
    processes = [_start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                        "--scheduler-file", str(info), log=folder / "scheduler.log")]
    try:
        deadline = time.monotonic() + 300
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(info.read_text(encoding="utf-8"))["address"]
        processes.append(_start("worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                                "--name", "same", log=folder / "worker.log"))
        _wait_for_workers(address, 1)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def test_batch_on_an_existing_cluster_gives_the_same_bytes(scheduler: str, tmp_path: Path) -> None:
    """batch --scheduler writes byte-identical files to a one-process run."""
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(cohort_lines(40, seed=9)) + "not json\n", encoding="utf-8")
    batch(cases, tmp_path / "one.jsonl", workers=1, engine="clips")
    done = run("batch", str(cases), "-o", str(tmp_path / "remote.jsonl"), "--scheduler", scheduler,
               "--engine", "clips", "--chunk-size", "6")
    assert done.returncode == 1, done.stderr
    assert f"Dask cluster at {scheduler}" in done.stderr
    assert (tmp_path / "remote.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert (tmp_path / "remote.refused.jsonl").read_bytes() == (tmp_path / "one.refused.jsonl").read_bytes()


def test_impact_on_an_existing_cluster_is_the_same_report(scheduler: str, tmp_path: Path) -> None:
    """impact on the cluster gives the report a one-process run gives (but the time and the runner)."""
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(cohort_lines(60, seed=3)), encoding="utf-8")
    here = json.loads(impact(cases, STARTER, None, workers=1, engine="clips").to_json())
    there = json.loads(impact(cases, STARTER, None, scheduler=scheduler, engine="clips", chunk_size=7).to_json())
    for volatile in ("seconds", "runner"):
        here.pop(volatile), there.pop(volatile)
    assert there == here and here["cases"]["changed"] > 0


def test_a_worker_with_another_twitchrules_is_refused(scheduler: str, tmp_path: Path) -> None:
    """A worker with another twitchrules version that builds another ruleset sha256 is refused by name: exit 2."""
    other = tmp_path / "other"
    shutil.copytree(Path(twitchrules.__file__).parent, other / "twitchrules",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("schemas", "rulesets"):  # an installed copy carries its data
        shutil.copytree(data_dir(name), other / "twitchrules" / "_data" / name)
    version = other / "twitchrules" / "version.py"
    version.write_text(version.read_text(encoding="utf-8") + '\n__version__ = "0.0.0+other"\n', encoding="utf-8")
    model = other / "twitchrules" / "ruleset" / "model.py"  # another canonical form: another sha256
    text = model.read_text(encoding="utf-8")
    assert 'separators=(",", ":")' in text
    model.write_text(text.replace('separators=(",", ":")', 'separators=(", ", ": ")'), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(other)}
    worker = _start("worker", scheduler, "--nthreads", "1", "--no-dashboard", "--name", "other", env=env,
                    log=tmp_path / "other.log")
    try:
        _wait_for_workers(scheduler, 2)
        cases = tmp_path / "cases.jsonl"
        cases.write_text("".join(cohort_lines(5, seed=1)), encoding="utf-8")
        out = tmp_path / "r.jsonl"
        done = run("batch", str(cases), "-o", str(out), "--scheduler", scheduler)
        assert done.returncode == 2, done.stderr
        assert re.search(r"tcp://127\.0\.0\.1:\d+: runs twitchrules 0\.0\.0\+other; this job runs", done.stderr)
        sha256 = cached_ruleset(None).sha256
        assert re.search(rf"tcp://127\.0\.0\.1:\d+: builds ruleset sha256 [0-9a-f]{{64}} where this job has {sha256}",
                         done.stderr), done.stderr
        assert done.stderr.count("builds ruleset sha256") == 1  # the other worker only
        assert "Traceback" not in done.stderr and not out.exists()
    finally:
        _stop(worker)
