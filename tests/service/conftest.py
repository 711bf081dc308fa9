"""Fixtures for the service tests: real uvicorn servers and a tiny FHIR server, on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from twitchrules import load_ruleset
from twitchrules.service import ServiceConfig, create_app
from twitchrules.service.server import uvicorn_config

from ..conftest import STARTER

ISSUER = "https://ehr.test.invalid"


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The per-user state directory (audit log, replay store defaults) in a temporary folder."""
    state = tmp_path_factory.mktemp("xdg-state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state / "twitchrules"


class LiveServer:
    """A uvicorn server running an app on a free 127.0.0.1 port in a background thread.

    It runs with the service's own uvicorn configuration (connection limits included).
    """

    def __init__(self, app: Any, config: ServiceConfig | None = None) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn_config(app, config or app.state.config, log_level="warning")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> LiveServer:
        """Start serving and wait until the server accepts requests."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask the server to exit and wait for it."""
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@pytest.fixture(scope="session")
def starter_loaded():
    """The core's small starter ruleset, loaded once (service mechanics need no clinical rules)."""
    return load_ruleset(STARTER)


@pytest.fixture
def serve(tmp_path: Path, starter_loaded) -> Iterator[Callable[..., LiveServer]]:
    """Factory: start the service with given settings; every server is stopped at the end."""
    started: list[LiveServer] = []

    def start(ruleset: Any = None, replay_store: Any = None, **settings: Any) -> LiveServer:
        settings.setdefault("audit_log", tmp_path / f"audit-{len(started)}.jsonl")
        settings.setdefault("jti_store", tmp_path / f"jti-{len(started)}.sqlite3")
        config = ServiceConfig(**settings)
        app = create_app(config, ruleset=ruleset or starter_loaded, jti_store=replay_store)
        server = LiveServer(app).start()
        server.audit_log = Path(settings["audit_log"])  # type: ignore[attr-defined]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """An HTTP client for calling the live servers."""
    with httpx.Client(timeout=10) as http:
        yield http


class FakeFhirServer:
    """A read-only FHIR JSON server over a dict of resources; it records each request."""

    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.resources = resources
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                fake.requests.append(
                    {"path": self.path, "authorization": self.headers.get("Authorization")}
                )
                status, body = fake.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        """Return (status, body) for a GET of ``path`` (read by id, or search by patient)."""
        parts = urlsplit(path)
        segments = parts.path.removeprefix("/fhir/").strip("/").split("/")
        if len(segments) == 2:
            for resource in self.resources:
                if [resource["resourceType"], resource.get("id")] == segments:
                    return 200, resource
            return 404, {"resourceType": "OperationOutcome",
                         "issue": [{"severity": "error", "code": "not-found"}]}
        query = parse_qs(parts.query)
        patient = (query.get("patient") or [""])[0]
        matches = [
            r for r in self.resources
            if r["resourceType"] == segments[0]
            and r.get("subject", {}).get("reference") == f"Patient/{patient}"
        ]
        return 200, {"resourceType": "Bundle", "type": "searchset", "total": len(matches),
                     "entry": [{"resource": r} for r in matches]}

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fhir_server() -> Iterator[Callable[[list[dict[str, Any]]], FakeFhirServer]]:
    """Factory: start a fake FHIR server holding given resources; stopped at the end."""
    servers: list[FakeFhirServer] = []

    def start(resources: list[dict[str, Any]]) -> FakeFhirServer:
        servers.append(FakeFhirServer(resources))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


Answer = Callable[[str], tuple[int, bytes, dict[str, str]]]


class ScriptedFhirServer:
    """A loopback HTTP server answering each GET with what ``answer(path)`` says; it records paths."""

    def __init__(self, answer: Answer) -> None:
        self.paths: list[str] = []
        self.authorizations: list[str | None] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                owner.paths.append(self.path)
                owner.authorizations.append(self.headers.get("Authorization"))
                status, body, headers = answer(self.path)
                self.send_response(status)
                headers = {"Content-Type": "application/fhir+json", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.base = f"{self.origin}/fhir"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted() -> Iterator[Callable[[Answer], ScriptedFhirServer]]:
    """Factory: a scripted FHIR server, stopped at the end."""
    servers: list[ScriptedFhirServer] = []

    def start(answer: Answer) -> ScriptedFhirServer:
        servers.append(ScriptedFhirServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


class Keys:
    """An RSA and an EC P-384 key pair, their JWKS, and a token maker."""

    def __init__(self, directory: Path) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP384R1())
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        rsa_jwk.update(kid="rsa-1", alg="RS384", use="sig")
        ec_jwk.update(kid="ec-1", alg="ES384", use="sig")
        self.jwks_file = directory / "jwks.json"
        self.jwks_file.write_text(json.dumps({"keys": [rsa_jwk, ec_jwk]}))

    def token(self, audience: str, *, alg: str = "RS384", **claims: Any) -> str:
        """Return a signed JWT for ``audience``; keyword claims override the defaults."""
        now = int(time.time())
        payload = {"iss": ISSUER, "sub": "ehr-client", "aud": audience, "iat": now,
                   "exp": now + 300, "jti": str(uuid.uuid4())}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        key, kid = (self.rsa, "rsa-1") if alg.startswith("RS") else (self.ec, "ec-1")
        return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """Signing keys the tests generate, with their JWKS file."""
    return Keys(tmp_path_factory.mktemp("keys"))
