"""JWT replay detection: each ``jti`` works once, across workers and restarts.

CDS Hooks best practice: "Ensure that the ``jti`` value doesn't exist in the short-term
storage of JWTs previously processed". The store keeps ``iss|jti`` until the token expires.

``SqliteJtiStore`` is the default: one SQLite file (WAL mode) shared by every worker
process of one host, so a token replayed to another worker, or after a restart, is refused.
A claim is one atomic ``INSERT ... ON CONFLICT`` statement. Entries written before a crash
or ``kill -9`` survive it; a power loss may forget the last moments' entries (WAL with
``synchronous=NORMAL``), whose tokens expire within ``jwt_max_lifetime_seconds`` anyway.

SQLite must be on a local disk, not a network filesystem. Replicas on several hosts each
keep their own store, so a token replayed to another host within its lifetime is not
caught; give ``create_app`` a shared ``JtiStore`` (for example a Redis ``SET NX EX``) there.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Protocol

from twitchrules.service.audit import private_sqlite

_PURGE_EVERY = 1000


class JtiStore(Protocol):
    """Where used token ids are kept; ``claim`` must be atomic across all the service's processes."""

    def claim(self, key: str, expires_at: float) -> bool:
        """Record ``key`` until ``expires_at``; False if it is already recorded and unexpired."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


class MemoryJtiStore:
    """A store for one process only (tests, or a single worker that never restarts)."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, expires_at: float) -> bool:
        """Record ``key``; False if it was already recorded and has not expired."""
        now = time.time()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: exp for k, exp in self._seen.items() if exp > now}
            previous = self._seen.get(key)
            if previous is not None and previous > now:
                return False
            self._seen[key] = expires_at
            return True

    def close(self) -> None:
        """Nothing to release."""


class SqliteJtiStore:
    """The default store: a SQLite file shared by the processes of one host (see module doc)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._claims = 0
        self._db = private_sqlite(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS seen "
                         "(key TEXT PRIMARY KEY, expires_at REAL NOT NULL) WITHOUT ROWID")

    def claim(self, key: str, expires_at: float) -> bool:
        """Record ``key``; False if it was already recorded and has not expired."""
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO seen (key, expires_at) VALUES (?, ?) ON CONFLICT (key) "
                "DO UPDATE SET expires_at = excluded.expires_at WHERE seen.expires_at <= ?",
                (key, expires_at, now))
            claimed = cursor.rowcount == 1
            self._claims += 1
            if self._claims % _PURGE_EVERY == 0:
                self._db.execute("DELETE FROM seen WHERE expires_at <= ?", (now,))
            return claimed

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
