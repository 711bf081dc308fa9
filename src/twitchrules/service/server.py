"""Server: the service under uvicorn, with connection limits and optional worker processes.

uvicorn keeps a connection open for as long as a client dribbles its headers or body, and
accepts connections without bound. ``GuardedH11Protocol`` (uvicorn's h11 protocol with
three limits) closes that gap:

- the request line and headers must arrive within ``header_timeout_seconds`` of the
  connection opening or of the previous response (else 408, or a plain close when nothing
  was sent), and a body within ``body_timeout_seconds`` of its headers (else 408);
- a worker holds at most ``max_connections`` connections: one more is answered 503 and
  closed at once;
- idle keep-alive connections close after ``keep_alive_seconds`` (uvicorn's own timer).

``run`` serves one process, or ``workers`` processes sharing the socket (uvicorn's
supervisor, which restarts a worker that dies). The workers build their app with
``app_from_environment`` from the settings ``run`` leaves in ``TWITCHRULES_SERVE_SETTINGS``;
they share the audit log (locked appends) and the JWT replay store (SQLite).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from twitchrules.service.app import create_app
from twitchrules.service.config import ServiceConfig
from twitchrules.service.models import operation_outcome

SETTINGS_ENV = "TWITCHRULES_SERVE_SETTINGS"
_REASONS = {408: "Request Timeout", 503: "Service Unavailable"}


@dataclass(frozen=True)
class ConnectionGuard:
    """The connection limits ``GuardedH11Protocol`` applies (see the module docstring)."""

    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    max_connections: int = 256

    @classmethod
    def of(cls, config: ServiceConfig) -> ConnectionGuard:
        """The limits a service configuration sets."""
        return cls(config.header_timeout_seconds, config.body_timeout_seconds,
                   config.max_connections)


def _guard_from_environment() -> ConnectionGuard:
    raw = os.environ.get(SETTINGS_ENV)
    if not raw:
        return ConnectionGuard()
    return ConnectionGuard.of(ServiceConfig.model_validate_json(raw))


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header and body timeouts and a connection cap."""

    def __init__(self, config: uvicorn.Config, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        guard = getattr(config, "twitchrules_guard", None)
        self.guard: ConnectionGuard = guard if isinstance(guard, ConnectionGuard) else _guard_from_environment()
        self._timer: asyncio.TimerHandle | None = None
        self._phase: str | None = None
        self._bytes_in_phase = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Register the connection; refuse it (503) past the cap, else start the header clock."""
        super().connection_made(transport)
        if len(self.connections) > self.guard.max_connections:
            self._refuse(503, "too many open connections; try again later")
            return
        self._follow()

    def data_received(self, data: bytes) -> None:
        """Handle the bytes, then move the clock to the phase the request is in."""
        self._bytes_in_phase = True
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        """A response went out: the next request's headers get a fresh clock."""
        super().on_response_complete()
        self._phase = None
        self._bytes_in_phase = False
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock with the connection."""
        self._cancel()
        super().connection_lost(exc)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _follow(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        state = self.conn.their_state
        phase = "header" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if phase == self._phase:
            return
        self._cancel()
        self._phase = phase
        if phase == "body":
            self._bytes_in_phase = True
        if phase is not None:
            seconds = (self.guard.header_timeout_seconds if phase == "header"
                       else self.guard.body_timeout_seconds)
            self._timer = self.loop.call_later(seconds, self._expired, phase)

    def _expired(self, phase: str) -> None:
        self._timer = None
        if self.transport.is_closing() or self._phase != phase:
            return
        if phase == "header" and not self._bytes_in_phase:
            self.transport.close()  # an idle connection: nothing to answer
            return
        what = "headers" if phase == "header" else "body"
        seconds = (self.guard.header_timeout_seconds if phase == "header"
                   else self.guard.body_timeout_seconds)
        self._refuse(408, f"the request {what} did not arrive within {seconds:g} s")

    def _refuse(self, status: int, message: str) -> None:
        body = json.dumps(operation_outcome("timeout" if status == 408 else "transient",
                                            [("", message)])).encode()
        head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-type: application/fhir+json\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode()
        self._cancel()
        if self.cycle is not None:
            self.cycle.keep_alive = False
        self.transport.write(head + body)
        self.transport.close()


def uvicorn_config(app: Any, config: ServiceConfig, *, host: str = "127.0.0.1", port: int = 8080,
                   log_level: str = "warning", **options: Any) -> uvicorn.Config:
    """A uvicorn configuration serving ``app`` with the service's connection limits."""
    server_config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, access_log=False, lifespan="on",
        http=GuardedH11Protocol, timeout_keep_alive=config.keep_alive_seconds,
        server_header=False, **options)
    server_config.twitchrules_guard = ConnectionGuard.of(config)  # type: ignore[attr-defined]
    return server_config


def app_from_environment() -> FastAPI:
    """The app a worker process serves, from the settings ``run`` left in the environment.

    Without them (under another ASGI server), the settings are read like ``serve`` reads
    them: ``TWITCHRULES_CONFIG`` (a JSON file) and ``TWITCHRULES_*`` variables.
    """
    raw = os.environ.get(SETTINGS_ENV)
    if raw:
        return create_app(ServiceConfig.model_validate_json(raw))
    return create_app(ServiceConfig.load(os.environ.get("TWITCHRULES_CONFIG")))


def run(config: ServiceConfig, *, host: str, port: int, log_level: str = "info",
        app: FastAPI | None = None) -> None:
    """Serve until interrupted: in this process, or in ``config.workers`` worker processes.

    ``app`` is ``create_app(config)`` if given (built first so a bad ruleset stops us early).
    """
    app = app or create_app(config)
    os.environ[SETTINGS_ENV] = config.model_dump_json()  # for the workers (spawned processes)
    if config.workers == 1:
        uvicorn.Server(uvicorn_config(app, config, host=host, port=port, log_level=log_level)).run()
        return
    uvicorn.run("twitchrules.service.server:app_from_environment", factory=True,
                workers=config.workers, host=host, port=port, log_level=log_level,
                access_log=False, lifespan="on", http=GuardedH11Protocol,
                timeout_keep_alive=config.keep_alive_seconds, server_header=False)
