"""Audit log: one JSON line per hook call or feedback, appended, never rewritten.

A record holds identifiers and outcomes only (hookInstance, patient and user ids, ruleset
and engine, triage level, fired rule ids, card uuids), never the clinical content of a case,
so the log can be kept and shipped like any access log.

Several writers (threads, and the worker processes of ``serve --workers``) share one file:
each line is appended with one ``write`` under an exclusive ``flock``, so lines never
interleave or tear, and a record is in the operating system's hands (safe from ``kill -9``)
before the response is sent. ``fsync`` says when it is also safe from a power loss:

- ``"line"`` (the default): ``fsync`` after every record, before the response is sent;
- ``"interval"``: ``fsync`` every ``fsync_interval_ms`` (a power loss may lose that much);
- ``"off"``: left to the operating system (typically up to 30 s on Linux).

A line left incomplete by a crash is closed with a newline when the log is next opened, so
it stays one bad line and never glues onto the next record.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

try:
    import fcntl
except ImportError:  # not POSIX: one writing process only (serve --workers needs POSIX)
    fcntl = None  # type: ignore[assignment]

FsyncPolicy = Literal["line", "interval", "off"]


@contextlib.contextmanager
def _exclusive(fd: int) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``fd`` (every writer of the log takes it)."""
    if fcntl is None:
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def private_directory(path: Path) -> None:
    """Create ``path`` (and parents) if missing; a directory it creates is owner-only (0700)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, 0o700)


def private_sqlite(path: Path) -> sqlite3.Connection:
    """A SQLite database at ``path`` that only its owner can read (0600), in WAL mode.

    One connection serves the threads of a process (callers hold their own lock); WAL lets
    the processes of one host share the file.
    """
    private_directory(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    database = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=NORMAL")
    return database


class AuditLog:
    """An append-only JSON-lines file, shared safely by threads and processes (see module doc)."""

    def __init__(self, path: str | Path, *, fsync: FsyncPolicy = "line",
                 fsync_interval_ms: int = 1000) -> None:
        self.path = Path(path)
        self.fsync = fsync
        private_directory(self.path.parent)
        self._lock = threading.Lock()
        # O_APPEND: every write lands at the end, even with other writers on the file.
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._closed = False
        self._pid = os.getpid()  # which worker process wrote a record
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._close_torn_line()
        self._syncer: threading.Thread | None = None
        if fsync == "interval":
            self._syncer = threading.Thread(target=self._sync_every, args=(fsync_interval_ms / 1000,),
                                            name="audit-fsync", daemon=True)
            self._syncer.start()

    def _close_torn_line(self) -> None:
        with _exclusive(self._fd):
            size = os.fstat(self._fd).st_size
            if size:
                with open(self.path, "rb") as reader:
                    reader.seek(size - 1)
                    if reader.read(1) != b"\n":
                        os.write(self._fd, b"\n")

    def _sync_every(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            if self._dirty.is_set():
                self._dirty.clear()
                with self._lock:
                    if not self._closed:
                        os.fsync(self._fd)

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one record of ``event`` with ``fields`` and the current UTC time; return it."""
        record = {
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
            "event": event,
            **fields,
            "worker": self._pid,
        }
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
        data = (line + "\n").encode("utf-8")
        with self._lock:
            if self._closed:
                raise ValueError("the audit log is closed")
            with _exclusive(self._fd):
                view = memoryview(data)
                while view:  # a regular file takes it in one go; loop in case it does not
                    view = view[os.write(self._fd, view):]
            if self.fsync == "line":
                os.fsync(self._fd)
            elif self.fsync == "interval":
                self._dirty.set()
        return record

    def close(self) -> None:
        """Flush to disk and close the file; later writes raise."""
        self._stop.set()
        if self._syncer is not None:
            self._syncer.join(timeout=5)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self.fsync != "off":
                os.fsync(self._fd)
            os.close(self._fd)


def read_audit_log(path: str | Path) -> list[dict[str, Any]]:
    """Return every record of the audit log at ``path``, oldest first."""
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
