"""Explanations behind a card: an unguessable link that opens the HTML explanation, then expires.

A summary card links to ``/explanations/<token>``: ``token`` is 32 random bytes
(``secrets.token_urlsafe``), so the URL cannot be guessed, and it is all the link holds.
The store keeps, until the link expires (``explanation_ttl_seconds``, default 24 h), the
case the card was made from (its contract JSON) and the ruleset's hash; the page is built
when a clinician opens it (``evaluate`` and ``explain`` again: the same case and ruleset
give the same card, so the page shows what the card showed plus the explanation). After
expiry the link is 404 and the row is deleted. Nothing clinical is logged: the access log
shows the token only, and the audit record names the link's expiry, not its content.

``SqliteExplanationStore`` is one SQLite file (WAL) shared by every worker of one host, in
the service's private state directory (readable by the service user only).
"""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

from twitchrules.service.audit import private_sqlite

_PURGE_EVERY = 200


class SqliteExplanationStore:
    """Cases behind explanation links, each until its link expires (see the module doc)."""

    def __init__(self, path: str | Path, ttl_seconds: int) -> None:
        self.path = Path(path)
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._writes = 0
        self._db = private_sqlite(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS explanation (token TEXT PRIMARY KEY, "
                         "expires_at REAL NOT NULL, ruleset_sha256 TEXT NOT NULL, case_json TEXT NOT NULL)")

    def put(self, case_json: str, ruleset_sha256: str, now: float | None = None) -> tuple[str, float]:
        """Keep a case for one link; return the link's token and its expiry (Unix time)."""
        token = secrets.token_urlsafe(32)
        now = time.time() if now is None else now
        expires_at = now + self.ttl_seconds
        with self._lock:
            self._db.execute("INSERT INTO explanation VALUES (?, ?, ?, ?)",
                             (token, expires_at, ruleset_sha256, case_json))
            self._writes += 1
            if self._writes % _PURGE_EVERY == 0:
                self._db.execute("DELETE FROM explanation WHERE expires_at <= ?", (now,))
        return token, expires_at

    def get(self, token: str, now: float | None = None) -> tuple[str, str] | None:
        """``(case_json, ruleset_sha256)`` behind a token; ``None`` if unknown or expired."""
        now = time.time() if now is None else now
        with self._lock:
            row = self._db.execute("SELECT expires_at, ruleset_sha256, case_json FROM explanation "
                                   "WHERE token = ?", (token,)).fetchone()
            if row is None:
                return None
            if row[0] <= now:
                self._db.execute("DELETE FROM explanation WHERE token = ?", (token,))
                return None
        return row[2], row[1]

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
