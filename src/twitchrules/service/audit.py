"""Audit log: one JSON line per hook call or feedback, appended, never rewritten.

A record holds identifiers and outcomes only (hookInstance, patient and user ids, ruleset
and engine, triage level, fired rule ids, card uuids), never the clinical content of a case,
so the log can be kept and shipped like any access log.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any


class AuditLog:
    """An append-only JSON-lines file; safe to share between threads of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # O_APPEND: every write lands at the end, even with other writers on the file.
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._file = os.fdopen(descriptor, "a", encoding="utf-8")

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one record of ``event`` with ``fields`` and the current UTC time; return it."""
        record = {
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
            "event": event,
            **fields,
        }
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
        return record

    def close(self) -> None:
        """Close the file; later writes raise."""
        with self._lock:
            self._file.close()


def read_audit_log(path: str | Path) -> list[dict[str, Any]]:
    """Return every record of the audit log at ``path``, oldest first."""
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
