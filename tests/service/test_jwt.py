"""JWT verification switched on: tokens signed by keys the tests generate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from twitchrules.service import SERVICE_ID, ConfigError, ServiceConfig, read_audit_log
from twitchrules.service.replay import MemoryJtiStore

from .conftest import ISSUER
from .test_service import RED_FLAG_CASE, case_request

PUBLIC_BASE = "https://cds.test.invalid/base"
AUDIENCE = f"{PUBLIC_BASE}/cds-services/{SERVICE_ID}"


@pytest.fixture
def secured(serve, keys):
    """A server that requires JWTs signed by the test keys, for the public base URL."""
    return serve(jwks_file=keys.jwks_file, jwt_issuers=[ISSUER], public_base_url=PUBLIC_BASE)


def _post(client, server, token: str | None, path: str = ""):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{server.url}/cds-services/{SERVICE_ID}{path}"
    return client.post(url, json=case_request(RED_FLAG_CASE), headers=headers)


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_valid_token_is_accepted(secured, client, keys, alg) -> None:
    """A fresh RS384 or ES384 token for the exact endpoint URL is accepted."""
    response = _post(client, secured, keys.token(AUDIENCE, alg=alg))
    assert response.status_code == 200, response.text
    assert len(response.json()["cards"]) == 1


def test_missing_token_is_401(secured, client) -> None:
    """No Authorization header: 401 with an OperationOutcome, and an audit record."""
    response = _post(client, secured, None)
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    assert any(r["event"] == "auth-failed" for r in read_audit_log(secured.audit_log))


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": "https://cds.test.invalid/base/cds-services"}, "aud"),
        ({"aud": "https://elsewhere.invalid/cds-services/twitching-assessment"}, "aud"),
        ({"iss": "https://rogue.invalid"}, "iss"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}, "expired"),
        ({"jti": None}, "jti"),
        ({"exp": None}, "exp"),
    ],
)
def test_bad_claims_are_401(secured, client, keys, claims, why) -> None:
    """Wrong aud, unknown iss, expiry in the past, or a missing jti/exp: 401 saying why."""
    response = _post(client, secured, keys.token(AUDIENCE, **claims))
    assert response.status_code == 401
    assert why in response.json()["issue"][0]["diagnostics"]


def test_replayed_jti_is_401(secured, client, keys) -> None:
    """The same token twice: the second call is refused."""
    token = keys.token(AUDIENCE)
    assert _post(client, secured, token).status_code == 200
    second = _post(client, secured, token)
    assert second.status_code == 401
    assert "jti" in second.json()["issue"][0]["diagnostics"]


def test_replicas_catch_replays_only_on_one_shared_store(serve, client, keys) -> None:
    """Replicas on their own stores each accept one token once (the documented limit); on one store, once in all."""
    settings = {"jwks_file": keys.jwks_file, "jwt_issuers": [ISSUER], "public_base_url": PUBLIC_BASE}
    apart = [serve(**settings), serve(**settings)]  # two "hosts", each with its own SQLite store
    token = keys.token(AUDIENCE)
    assert [_post(client, server, token).status_code for server in apart] == [200, 200]
    assert [_post(client, server, token).status_code for server in apart] == [401, 401]
    shared = MemoryJtiStore()  # stands where the docs put a store atomic across hosts
    together = [serve(replay_store=shared, **settings), serve(replay_store=shared, **settings)]
    token = keys.token(AUDIENCE)
    assert [_post(client, server, token).status_code for server in together] == [200, 401]


def test_hmac_and_none_algorithms_are_refused(secured, client, keys) -> None:
    """HS256 (even keyed with the public JWKS text) and alg none are never accepted."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60, "jti": "x1"}
    # Built by hand: PyJWT itself refuses to sign HMAC with a public key (the classic attack).
    signing_input = ".".join(
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
        for part in ({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims)
    )
    secret = keys.jwks_file.read_bytes()
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    forged = signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    assert _post(client, secured, forged).status_code == 401
    none = jwt.encode({**claims, "jti": "x2"}, None, algorithm="none")
    assert _post(client, secured, none).status_code == 401


def test_token_signed_by_another_key_is_401(secured, client, tmp_path) -> None:
    """A token signed by a key not in the JWKS, under a known kid, is refused."""
    from .conftest import Keys

    stranger = Keys(tmp_path)
    assert _post(client, secured, stranger.token(AUDIENCE)).status_code == 401


def test_feedback_needs_a_token_for_its_own_url(secured, client, keys) -> None:
    """Feedback is verified too; its aud is the feedback URL."""
    body = {"feedback": [{"card": "c1", "outcome": "accepted",
                          "outcomeTimestamp": "2026-11-20T10:00:00Z"}]}
    url = f"{secured.url}/cds-services/{SERVICE_ID}/feedback"
    assert client.post(url, json=body).status_code == 401
    token = keys.token(f"{AUDIENCE}/feedback")
    ok = client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200


def test_discovery_stays_open(secured, client) -> None:
    """Discovery needs no token (EHRs read it when registering the service)."""
    assert client.get(f"{secured.url}/cds-services").status_code == 200


def test_jwks_without_issuers_is_a_config_error(keys) -> None:
    """Configuring a JWKS without an issuer allow-list is refused, naming the setting."""
    with pytest.raises(ConfigError, match="jwt_issuers"):
        ServiceConfig.load(environ={"TWITCHRULES_JWKS_FILE": str(keys.jwks_file)})


def test_config_reads_environment_lists(keys) -> None:
    """TWITCHRULES_* variables set lists from comma-separated text."""
    config = ServiceConfig.load(environ={
        "TWITCHRULES_JWKS_FILE": str(keys.jwks_file),
        "TWITCHRULES_JWT_ISSUERS": f"{ISSUER}, https://other.invalid",
        "TWITCHRULES_FHIR_SERVERS": "https://ehr.invalid/fhir",
        "TWITCHRULES_MAX_BODY_BYTES": "65536",
    })
    assert config.jwt_required
    assert config.jwt_issuers == [ISSUER, "https://other.invalid"]
    assert config.max_body_bytes == 65536
    assert config.fhir_server_allowed("https://ehr.invalid/fhir/")
    assert config.fhir_server_allowed("https://ehr.invalid/fhir/R4")
    assert not config.fhir_server_allowed("https://ehr.invalid/fhirevil")
    assert not config.fhir_server_allowed("https://ehr.invalid/fhir/../admin")
    assert not config.fhir_server_allowed("https://ehr.invalid@evil.invalid/fhir")
    assert not config.fhir_server_allowed("http://ehr.invalid/fhir")


def test_a_call_without_a_token_is_401_before_its_body_is_read(secured, client) -> None:
    """Authentication comes first: a body that is not even JSON, sent without a token, is 401
    (not 400 with the body's problems); so is an unknown service's, and a wrong type's."""
    for path, content, headers in [
        (f"/cds-services/{SERVICE_ID}", b"{not json", {"Content-Type": "application/json"}),
        ("/cds-services/nope", b"{}", {"Content-Type": "application/json"}),
        (f"/cds-services/{SERVICE_ID}", b"hello", {"Content-Type": "text/plain"}),
        (f"/cds-services/{SERVICE_ID}/feedback", b"[", {"Content-Type": "application/json"}),
    ]:
        response = client.post(f"{secured.url}{path}", content=content, headers=headers)
        assert response.status_code == 401, (path, response.status_code, response.text)
        assert response.json()["resourceType"] == "OperationOutcome"
        assert "Authorization" in response.json()["issue"][0]["diagnostics"]


def test_a_token_is_verified_once_a_call(secured, client, keys) -> None:
    """The token checked before the body is the one the call is answered with: one use of
    its jti, so a valid call is not refused as a replay of itself."""
    token = keys.token(AUDIENCE)
    assert _post(client, secured, token).status_code == 200
    assert _post(client, secured, token).status_code == 401
