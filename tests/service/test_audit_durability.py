"""The audit log and replay store under several workers, kill -9 and restarts (issue 17, 14-15).

The multi-process tests run ``twitchrules serve --workers N`` as a user would, in its own
process group, and kill that group with SIGKILL mid-traffic.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from twitchrules.service import SERVICE_ID, AuditLog, ServiceConfig, create_app, read_audit_log
from twitchrules.service import audit as audit_module

from .conftest import ISSUER, LiveServer
from .test_service import RED_FLAG_CASE, case_request

EXE = shutil.which("twitchrules") or str(Path(sys.executable).parent / "twitchrules")


def mode_of(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def test_default_audit_log_is_in_a_private_state_directory(private_state_dir: Path,
                                                            starter_loaded, client) -> None:
    """By default the log lives in the per-user state directory, created 0700, the file 0600."""
    config = ServiceConfig()
    assert config.audit_log == private_state_dir / "audit.jsonl"
    assert config.jti_store == private_state_dir / "jti.sqlite3"
    server = LiveServer(create_app(config, ruleset=starter_loaded)).start()
    try:
        client.post(f"{server.url}/cds-services/{SERVICE_ID}", json=case_request(RED_FLAG_CASE))
    finally:
        server.stop()
    assert mode_of(private_state_dir) == 0o700
    assert mode_of(config.audit_log) == 0o600
    assert [r["event"] for r in read_audit_log(config.audit_log)] == ["call"]


def test_configured_log_directory_is_created_owner_only(tmp_path: Path) -> None:
    """A configured log path whose folders do not exist gets them created 0700."""
    log = AuditLog(tmp_path / "new" / "deeper" / "audit.jsonl")
    log.write("call", hookInstance="h1")
    log.close()
    assert mode_of(tmp_path / "new") == 0o700
    assert mode_of(tmp_path / "new" / "deeper") == 0o700


class FsyncSpy:
    """Counts calls to the real ``os.fsync`` made by the audit module (it still syncs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = os.fsync

        def counting(fd: int) -> None:
            self.calls += 1
            real(fd)

        monkeypatch.setattr(audit_module.os, "fsync", counting)


def test_fsync_line_syncs_every_record(tmp_path: Path, monkeypatch) -> None:
    """audit_fsync "line" (the default) syncs once per record, before write returns."""
    spy = FsyncSpy(monkeypatch)
    log = AuditLog(tmp_path / "audit.jsonl", fsync="line")
    for index in range(20):
        log.write("call", n=index)
        assert spy.calls == index + 1
    log.close()


def test_fsync_interval_syncs_in_batches(tmp_path: Path, monkeypatch) -> None:
    """audit_fsync "interval" syncs on its own clock: fewer syncs than records, at least one."""
    spy = FsyncSpy(monkeypatch)
    log = AuditLog(tmp_path / "audit.jsonl", fsync="interval", fsync_interval_ms=100)
    for index in range(50):
        log.write("call", n=index)
    deadline = time.monotonic() + 5
    while spy.calls == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert 1 <= spy.calls < 50
    log.close()
    assert len(read_audit_log(tmp_path / "audit.jsonl")) == 50


def test_fsync_off_leaves_it_to_the_system(tmp_path: Path, monkeypatch) -> None:
    """audit_fsync "off" never syncs; the records are still all there."""
    spy = FsyncSpy(monkeypatch)
    log = AuditLog(tmp_path / "audit.jsonl", fsync="off")
    for index in range(10):
        log.write("call", n=index)
    log.close()
    assert spy.calls == 0
    assert len(read_audit_log(tmp_path / "audit.jsonl")) == 10


WRITER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("audit", sys.argv[1])
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)
log = audit.AuditLog(sys.argv[2], fsync="off")
for index in range(int(sys.argv[4])):
    log.write("call", writer=int(sys.argv[3]), n=index, padding="x" * 9000)
log.close()
"""
"""A writer process: the audit module loaded by file (stdlib only), appending 9 KB records."""


def test_many_writer_processes_never_tear_or_lose_a_line(tmp_path: Path) -> None:
    """Four processes appending 9 KB records at once: every line whole, every record there."""
    path = tmp_path / "audit.jsonl"
    count = 250
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, audit_module.__file__, str(path),
                                 str(writer), str(count)]) for writer in range(4)]
    for process in writers:
        assert process.wait(timeout=120) == 0
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    assert len(records) == 4 * count
    for writer in range(4):
        assert sorted(r["n"] for r in records if r["writer"] == writer) == list(range(count))


def test_torn_tail_is_closed_before_the_next_record(tmp_path: Path) -> None:
    """A line cut short by a crash stays one bad line; the next record starts on its own line."""
    path = tmp_path / "audit.jsonl"
    path.write_text('{"event":"call","n":1}\n{"event":"ca')
    log = AuditLog(path)
    log.write("call", n=2)
    log.close()
    lines = path.read_text().splitlines()
    assert lines[1] == '{"event":"ca'
    assert json.loads(lines[2])["n"] == 2


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServeProcess:
    """``twitchrules serve`` in its own process group (so SIGKILL reaches every worker)."""

    def __init__(self, tmp_path: Path, workers: int, settings: dict[str, Any]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp_path / f"settings-{self.port}.json"
        config.write_text(json.dumps({"ruleset": str(Path(__file__).parents[1] / "fixtures" / "starter"),
                                      **settings}))
        env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
        self.process = subprocess.Popen(
            [EXE, "serve", "--port", str(self.port), "--workers", str(workers), "--config",
             str(config), "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)
        deadline = time.monotonic() + 300  # generous: a loaded machine starts workers slowly
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read().decode()[-3000:])  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.url}/cds-services", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("serve did not start")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the whole process group (our own process's group, by its id)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        if self.process.stderr is not None:
            self.process.stderr.close()


def hammer(url: str, seconds: float, threads: int) -> list[tuple[str, int]]:
    """Calls from ``threads`` threads for ``seconds``; the (hookInstance, status) of each answer."""
    answered: list[tuple[str, int]] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def work() -> None:
        with httpx.Client(timeout=10) as http:
            while time.monotonic() < stop:
                body = case_request(RED_FLAG_CASE)
                try:
                    status = http.post(f"{url}/cds-services/{SERVICE_ID}", json=body).status_code
                except httpx.HTTPError:
                    continue
                with lock:
                    answered.append((body["hookInstance"], status))

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return answered


def spread_over_workers(url: str, audit: Path, workers: int,
                        deadline_s: float = 60.0) -> list[tuple[str, int]]:
    """Calls on fresh connections until the audit log shows ``workers`` writers.

    Which worker accepts a connection is the kernel's choice, and one worker may take a
    whole burst; a fresh connection per call, repeated, lets every worker take some.
    """
    answered: list[tuple[str, int]] = []
    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        body = case_request(RED_FLAG_CASE)
        with httpx.Client(timeout=10, headers={"Connection": "close"}) as http:
            answered.append((body["hookInstance"],
                             http.post(f"{url}/cds-services/{SERVICE_ID}", json=body).status_code))
        seen = {json.loads(line)["worker"] for line in audit.read_bytes().split(b"\n") if line}
        if len(seen) >= workers:
            return answered
    raise AssertionError(f"in {deadline_s:.0f} s the calls never reached {workers} workers")


def test_workers_and_kill_9_lose_no_line_and_tear_none(tmp_path: Path) -> None:
    """serve --workers 2, calls in flight, kill -9: every answered call has exactly one whole line."""
    audit = tmp_path / "audit.jsonl"
    server = ServeProcess(tmp_path, 2, {"audit_log": str(audit)})
    answered: list[tuple[str, int]] = []
    try:
        answered += spread_over_workers(server.url, audit, workers=2)
    except BaseException:
        server.kill()
        raise
    killer = threading.Timer(2.0, server.kill)
    killer.start()
    try:
        answered += hammer(server.url, 3, threads=6)
    finally:
        killer.join()
        server.kill()
    assert answered and all(status == 200 for _, status in answered)
    print(f"answered {len(answered)} calls before and around the kill")
    lines = audit.read_bytes().split(b"\n")
    records = [json.loads(line) for line in lines if line]  # a torn line would not parse
    calls = [r["hookInstance"] for r in records if r["event"] == "call"]
    assert len(calls) == len(set(calls))
    assert {hook for hook, _ in answered} <= set(calls)
    assert len({r["worker"] for r in records}) >= 2, "the calls should spread over the workers"
    # Restarted on the same log: it goes on appending whole lines.
    again = ServeProcess(tmp_path, 1, {"audit_log": str(audit)})
    try:
        more = hammer(again.url, 0.5, threads=2)
    finally:
        again.kill()
    records = [json.loads(line) for line in audit.read_bytes().split(b"\n") if line]
    assert {hook for hook, _ in more} <= {r.get("hookInstance") for r in records}


def _post_fresh(url: str, audit: Path, token: str) -> tuple[int, int]:
    """One call on a fresh connection: its status and the worker whose audit record it left."""
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    with httpx.Client(timeout=10, headers=headers) as http:
        status = http.post(f"{url}/cds-services/{SERVICE_ID}", json=case_request(RED_FLAG_CASE)).status_code
    last = audit.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]  # written before the answer
    return status, int(json.loads(last)["worker"])


def test_replays_are_refused_across_workers_and_restarts(tmp_path: Path, keys, serve) -> None:
    """A used token is 401 on the other worker of serve --workers 2, in another process and after a restart."""
    audit = tmp_path / "audit.jsonl"
    settings = {"jwks_file": str(keys.jwks_file), "jwt_issuers": [ISSUER],
                "public_base_url": "https://cds.test.invalid", "jti_store": str(tmp_path / "jti.sqlite3"),
                "audit_log": str(audit)}
    audience = f"https://cds.test.invalid/cds-services/{SERVICE_ID}"
    used: list[str] = []
    first = ServeProcess(tmp_path, 2, settings)
    try:
        for index in range(3):
            token = keys.token(audience, alg="RS384" if index % 2 else "ES384")
            status, accepted_by = _post_fresh(first.url, audit, token)
            assert status == 200
            used.append(token)
            refused_by: set[int] = set()
            deadline = time.monotonic() + 60
            while refused_by <= {accepted_by} and time.monotonic() < deadline:  # the kernel picks the worker
                status, worker = _post_fresh(first.url, audit, token)
                assert status == 401
                refused_by.add(worker)
            assert refused_by - {accepted_by}, "the replays never reached the other worker"
        other = serve(**settings)  # another server process (this one) on the same replay store
        assert [_post_fresh(other.url, audit, token)[0] for token in used] == [401] * len(used)
    finally:
        first.kill()
    again = ServeProcess(tmp_path, 2, settings)  # a restart on the same store
    try:
        assert [_post_fresh(again.url, audit, token)[0] for token in used] == [401] * len(used)
        assert _post_fresh(again.url, audit, keys.token(audience))[0] == 200
    finally:
        again.kill()
    refusals = [json.loads(line) for line in audit.read_bytes().split(b"\n") if line]
    assert all("already used" in r["reason"] for r in refusals if r["event"] == "auth-failed")
