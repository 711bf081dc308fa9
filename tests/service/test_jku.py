"""JWT keys named by `jku` (issue 16 part 3) and the token checks of issue 17 (items 10, 11).

Real key servers on loopback serve JWK Sets; tokens are signed RS384 and ES384 by keys the
tests generate. A "trap" server listens on a host that is not allowed and counts requests.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest

from twitchrules.service import SERVICE_ID, ConfigError, ServiceConfig
from twitchrules.service.jwks import keys_of

from .conftest import ISSUER, Keys
from .test_service import RED_FLAG_CASE, case_request

PUBLIC_BASE = "https://cds.test.invalid/base"
AUDIENCE = f"{PUBLIC_BASE}/cds-services/{SERVICE_ID}"

SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
SANDBOX_JWKS = {"keys": [{
    "kty": "EC", "use": "sig", "crv": "P-384", "kid": "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f",
    "x": "dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB",
    "y": "Sm3mLE-n1zYNla_aiE3cb3nZsL51RbC7ysw3q8aJLxGm-hx79RPMYpITDjp7kgzy", "alg": "ES384"}]}
"""The public sandbox's JWK Set as published in cds-hooks/sandbox (build/.well-known/jwks.json)."""


class KeyServer:
    """A loopback HTTP server of JWK Sets by path; counts requests; can redirect, stall or bloat."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.redirects: dict[str, str] = {}
        self.delay = 0.0
        self.padding = 0
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                owner.requests.append(self.path)
                if owner.delay:
                    time.sleep(owner.delay)
                if self.path in owner.redirects:
                    self.send_response(302)
                    self.send_header("Location", owner.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                document = owner.documents.get(self.path)
                if document is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({**document, "pad": "x" * owner.padding} if owner.padding
                                  else document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.origin + path

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def key_servers() -> Iterator[Callable[[], KeyServer]]:
    """Factory: key servers, stopped at the end."""
    servers: list[KeyServer] = []

    def start() -> KeyServer:
        servers.append(KeyServer())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def jwks_of(keys: Keys) -> dict[str, Any]:
    """The test keys' JWK Set as a document."""
    return json.loads(keys.jwks_file.read_text())


def signed(keys: Keys, *, jku: str | None, alg: str = "RS384", kid: str | None = None,
           audience: str = AUDIENCE, **claims: Any) -> str:
    """A token signed by the test key for ``alg``, naming ``jku`` and ``kid`` in its header."""
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": audience, "iat": now, "exp": now + 300,
               "jti": str(uuid.uuid4()), **claims}
    key = keys.rsa if alg.startswith("RS") else keys.ec
    header: dict[str, Any] = {"kid": kid or ("rsa-1" if alg.startswith("RS") else "ec-1"),
                              "typ": "JWT"}
    if jku is not None:
        header["jku"] = jku
    return jwt.encode(payload, key, algorithm=alg, headers=header)


def post(client, server, token: str | None):
    """A hook call with ``token`` as its bearer JWT."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(f"{server.url}/cds-services/{SERVICE_ID}", json=case_request(RED_FLAG_CASE),
                       headers=headers)


def diagnostics(response) -> str:
    """The first issue's diagnostics of an OperationOutcome."""
    return response.json()["issue"][0]["diagnostics"]


@pytest.fixture
def published(key_servers, keys) -> KeyServer:
    """A key server publishing the test keys at /ehr/jwks.json."""
    server = key_servers()
    server.documents["/ehr/jwks.json"] = jwks_of(keys)
    return server


def jku_service(serve, *allow: str, **settings: Any):
    """A service verifying tokens by jku against the allow-list ``allow``."""
    settings.setdefault("jwks_min_refetch_seconds", 0.5)
    return serve(jwt_jku_allow=list(allow), jwt_issuers=[ISSUER], public_base_url=PUBLIC_BASE,
                 **settings)


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_token_with_an_allowed_jku_is_accepted(serve, client, keys, published, alg) -> None:
    """RS384 and ES384 tokens whose jku is on the list verify against the fetched keys."""
    jku = published.url("/ehr/jwks.json")
    service = jku_service(serve, jku)
    response = post(client, service, signed(keys, jku=jku, alg=alg))
    assert response.status_code == 200, response.text
    assert published.requests == ["/ehr/jwks.json"]


def test_jku_list_switches_verification_on(serve, client, published) -> None:
    """With only jwt_jku_allow set, a call without a token is 401."""
    service = jku_service(serve, published.url("/ehr/jwks.json"))
    assert post(client, service, None).status_code == 401


def test_jku_off_the_list_is_401_naming_it_and_never_fetched(serve, client, keys, published,
                                                              key_servers) -> None:
    """A jku on a host that is not allowed: 401 naming it; the trap there sees no request."""
    trap = key_servers()
    trap.documents["/ehr/jwks.json"] = jwks_of(keys)  # would even verify, if it were fetched
    service = jku_service(serve, published.url("/ehr/jwks.json"))
    bad = trap.url("/ehr/jwks.json")
    for alg in ("RS384", "ES384"):
        response = post(client, service, signed(keys, jku=bad, alg=alg))
        assert response.status_code == 401
        assert bad in diagnostics(response) and "jwt_jku_allow" in diagnostics(response)
    time.sleep(0.2)
    assert trap.requests == []
    assert published.requests == []


def test_jku_prefix_entry_allows_urls_below_it_only(serve, client, keys, published) -> None:
    """An entry ending in '/' allows URLs under it; a sibling path or a dot-segment escape is 401."""
    published.documents["/keys/2026/jwks.json"] = jwks_of(keys)
    published.documents["/other/jwks.json"] = jwks_of(keys)
    service = jku_service(serve, published.url("/keys/"))
    assert post(client, service, signed(keys, jku=published.url("/keys/2026/jwks.json"))).status_code == 200
    for escape in ("/other/jwks.json", "/keys/../other/jwks.json", "/keys/%2e%2e/other/jwks.json",
                   "/keysother/jwks.json"):
        response = post(client, service, signed(keys, jku=published.url(escape)))
        assert response.status_code == 401, escape
    assert "/other/jwks.json" not in published.requests


def test_keys_are_cached(serve, client, keys, published) -> None:
    """Several tokens with known key ids cost one fetch."""
    jku = published.url("/ehr/jwks.json")
    service = jku_service(serve, jku)
    for alg in ("RS384", "ES384", "RS384"):
        assert post(client, service, signed(keys, jku=jku, alg=alg)).status_code == 200
    assert published.requests == ["/ehr/jwks.json"]


def test_unknown_kid_refetches_once_then_is_rate_limited(serve, client, keys, published) -> None:
    """An unknown kid refetches the set once; a flood of made-up kids fetches no more."""
    jku = published.url("/ehr/jwks.json")
    service = jku_service(serve, jku, jwks_min_refetch_seconds=60)
    assert post(client, service, signed(keys, jku=jku)).status_code == 200
    assert len(published.requests) == 1
    for _ in range(5):
        response = post(client, service, signed(keys, jku=jku, kid=f"made-up-{uuid.uuid4()}"))
        assert response.status_code == 401
        assert "kid" in diagnostics(response)
    assert len(published.requests) <= 2


def test_rotated_key_is_found_by_one_refetch(serve, client, keys, published, tmp_path) -> None:
    """A key added to the published set is picked up when a token names its kid."""
    jku = published.url("/ehr/jwks.json")
    service = jku_service(serve, jku)
    assert post(client, service, signed(keys, jku=jku)).status_code == 200
    rotated = Keys(tmp_path)
    document = jwks_of(rotated)
    for key in document["keys"]:
        key["kid"] = "rotated-" + key["kid"]
    published.documents["/ehr/jwks.json"] = {"keys": jwks_of(keys)["keys"] + document["keys"]}
    time.sleep(0.6)  # past jwks_min_refetch_seconds
    token = signed(rotated, jku=jku, alg="ES384", kid="rotated-ec-1")
    assert post(client, service, token).status_code == 200
    assert len(published.requests) == 2


def test_redirect_to_another_host_is_refused(serve, client, keys, published, key_servers) -> None:
    """The allowed URL redirecting to another host: 401, and the other host gets no request."""
    trap = key_servers()
    trap.documents["/jwks.json"] = jwks_of(keys)
    published.redirects["/ehr/jwks.json"] = trap.url("/jwks.json")
    jku = published.url("/ehr/jwks.json")
    response = post(client, jku_service(serve, jku), signed(keys, jku=jku))
    assert response.status_code == 401
    assert "redirects to another host" in diagnostics(response)
    assert trap.requests == []


def test_same_host_redirect_inside_the_list_is_followed(serve, client, keys, published) -> None:
    """A redirect on the same host to a URL that is itself allowed is followed."""
    published.documents["/keys/v2.json"] = jwks_of(keys)
    published.redirects["/keys/current.json"] = "/keys/v2.json"
    service = jku_service(serve, published.url("/keys/"))
    response = post(client, service, signed(keys, jku=published.url("/keys/current.json")))
    assert response.status_code == 200, response.text


def test_oversized_key_set_is_refused(serve, client, keys, published) -> None:
    """A key set over jwks_max_bytes is refused (401), not read."""
    published.padding = 300_000
    jku = published.url("/ehr/jwks.json")
    response = post(client, jku_service(serve, jku, jwks_max_bytes=100_000), signed(keys, jku=jku))
    assert response.status_code == 401
    assert "larger than" in diagnostics(response)


def test_slow_key_server_times_out(serve, client, keys, published) -> None:
    """A key server slower than jwks_timeout_seconds gives 401 within about that time."""
    published.delay = 3
    jku = published.url("/ehr/jwks.json")
    service = jku_service(serve, jku, jwks_timeout_seconds=0.5)
    started = time.monotonic()
    response = post(client, service, signed(keys, jku=jku))
    assert response.status_code == 401
    assert "could not be fetched" in diagnostics(response)
    assert time.monotonic() - started < 2.5


def test_jku_allow_list_is_https_only() -> None:
    """An http jku entry for a host that is not loopback is a config error naming the setting."""
    with pytest.raises(ConfigError, match="jwt_jku_allow"):
        ServiceConfig.load(jwt_jku_allow=["http://ehr.example.org/jwks.json"], jwt_issuers=[ISSUER])
    with pytest.raises(ConfigError, match="jwt_issuers"):
        ServiceConfig.load(environ={"TWITCHRULES_JWT_JKU_ALLOW": "https://ehr.example.org/jwks"})
    config = ServiceConfig.load(environ={
        "TWITCHRULES_JWT_JKU_ALLOW": "https://ehr.example.org/jwks.json, http://127.0.0.1:9/k/",
        "TWITCHRULES_JWT_ISSUERS": ISSUER})
    assert config.jwt_required
    assert config.jku_allowed("https://EHR.example.org:443/jwks.json") is not None
    assert config.jku_allowed("http://ehr.example.org/jwks.json") is None
    assert config.jku_allowed("http://127.0.0.1:9/k/a.json") is not None


def test_public_sandbox_configuration_accepts_its_key() -> None:
    """The documented sandbox settings allow its jku, and its published key is a usable ES384 key."""
    config = ServiceConfig(jwt_jku_allow=[SANDBOX_JKU], jwt_issuers=[SANDBOX_ISSUER],
                           cors_origins=["https://sandbox.cds-hooks.org"])
    assert config.jwt_required
    assert config.jku_allowed(SANDBOX_JKU) is not None
    keys = keys_of(SANDBOX_JWKS, "the sandbox JWKS")
    (key,) = keys.values()
    assert key.algorithm_name == "ES384" and key.key_type == "EC"


# Issue 17, item 10: a kid naming a key of another type.

@pytest.mark.parametrize(("alg", "kid"), [("RS384", "ec-1"), ("ES384", "rsa-1")])
def test_kid_of_another_key_type_is_401_not_500(serve, client, keys, published, alg, kid) -> None:
    """RS384 signed but naming the EC key (and the reverse): 401, with a JWKS file or a jku."""
    from_file = serve(jwks_file=keys.jwks_file, jwt_issuers=[ISSUER], public_base_url=PUBLIC_BASE)
    response = post(client, from_file, signed(keys, jku=None, alg=alg, kid=kid))
    assert response.status_code == 401, response.text
    assert "does not fit its key" in diagnostics(response)
    jku = published.url("/ehr/jwks.json")
    response = post(client, jku_service(serve, jku), signed(keys, jku=jku, alg=alg, kid=kid))
    assert response.status_code == 401, response.text


def test_symmetric_key_in_a_key_set_is_never_used(serve, client, keys, published) -> None:
    """An `oct` (HMAC) key in a published set is ignored: a token naming it is 401."""
    document = jwks_of(keys)
    document["keys"].append({"kty": "oct", "kid": "hmac-1", "k": "c2VjcmV0", "alg": "RS384"})
    published.documents["/ehr/jwks.json"] = document
    jku = published.url("/ehr/jwks.json")
    response = post(client, jku_service(serve, jku), signed(keys, jku=jku, kid="hmac-1"))
    assert response.status_code == 401


# Issue 17, item 11: the maximum lifetime.

@pytest.mark.parametrize("exp_offset", [10**30, 10**400, 3600, 301 + 30 + 5])
def test_token_living_too_long_is_401(serve, client, keys, exp_offset) -> None:
    """exp 10^30 (or 10^400, or an hour away) is refused: the default maximum is 300 s."""
    service = serve(jwks_file=keys.jwks_file, jwt_issuers=[ISSUER], public_base_url=PUBLIC_BASE)
    exp = exp_offset if exp_offset >= 10**30 else int(time.time()) + exp_offset
    response = post(client, service, signed(keys, jku=None, exp=exp))
    assert response.status_code == 401
    assert "jwt_max_lifetime_seconds" in diagnostics(response)


def test_maximum_lifetime_is_configurable(serve, client, keys) -> None:
    """With jwt_max_lifetime_seconds 3600, an hour-long token is accepted, a day-long one is not."""
    service = serve(jwks_file=keys.jwks_file, jwt_issuers=[ISSUER], public_base_url=PUBLIC_BASE,
                    jwt_max_lifetime_seconds=3600)
    now = int(time.time())
    assert post(client, service, signed(keys, jku=None, exp=now + 3500)).status_code == 200
    assert post(client, service, signed(keys, jku=None, exp=now + 86400)).status_code == 401


def test_backdated_iat_cannot_stretch_the_lifetime(serve, client, keys) -> None:
    """A token whose exp - iat is too long is refused even if exp is near."""
    service = serve(jwks_file=keys.jwks_file, jwt_issuers=[ISSUER], public_base_url=PUBLIC_BASE)
    now = int(time.time())
    response = post(client, service, signed(keys, jku=None, iat=now - 86400, exp=now + 60))
    assert response.status_code == 401


# Replay detection across processes and restarts (the SQLite store).

def test_replay_is_refused_after_a_restart(serve, client, keys, tmp_path: Path) -> None:
    """A token used before a restart is refused after it (the store is on disk)."""
    store = tmp_path / "jti.sqlite3"
    settings = {"jwks_file": keys.jwks_file, "jwt_issuers": [ISSUER],
                "public_base_url": PUBLIC_BASE, "jti_store": store}
    first = serve(**settings)
    token = signed(keys, jku=None)
    assert post(client, first, token).status_code == 200
    first.stop()
    second = serve(**settings)
    response = post(client, second, token)
    assert response.status_code == 401
    assert "already used" in diagnostics(response)


def test_many_urls_under_a_prefix_are_rate_limited(serve, client, keys, published) -> None:
    """Tokens naming ever-new URLs under an allowed prefix cause a bounded number of fetches."""
    from twitchrules.service.jwks import FETCHES_PER_WINDOW

    service = jku_service(serve, published.url("/keys/"), jwks_min_refetch_seconds=30)
    for index in range(FETCHES_PER_WINDOW + 8):
        response = post(client, service, signed(keys, jku=published.url(f"/keys/{index}.json")))
        assert response.status_code == 401
    assert len(published.requests) == FETCHES_PER_WINDOW
