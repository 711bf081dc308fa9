"""JWT verification of CDS Clients (CDS Hooks 2.0, "Trusting CDS Clients").

The EHR signs a short-lived JWT per call with its private key (RS384 or ES384; never HMAC or
``none``) and sends it as ``Authorization: Bearer``. The service checks the signature against
the configured JWKS, that ``iss`` is allowed, that ``aud`` is exactly the URL called, that
the token has not expired, and that its ``jti`` has not been seen before.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import jwt

from twitchrules.service.config import ServiceConfig

ALGORITHMS = ["RS384", "ES384"]
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]


class AuthError(Exception):
    """The request's JWT is missing or does not verify; the message says why (no token text)."""


class _ReplayCache:
    """Remembers each ``jti`` until its token expires, so that a token works once."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, expires_at: float) -> bool:
        """Record ``key``; return False if it was already recorded and has not expired."""
        now = time.time()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: exp for k, exp in self._seen.items() if exp > now}
            previous = self._seen.get(key)
            if previous is not None and previous > now:
                return False
            self._seen[key] = expires_at
            return True


class JwtVerifier:
    """Verifies CDS Client JWTs against a JWKS file or URL (see the module docstring)."""

    def __init__(self, config: ServiceConfig) -> None:
        self._issuers = list(config.jwt_issuers)
        self._leeway = config.jwt_leeway_seconds
        self._replay = _ReplayCache()
        self._keys: dict[str | None, Any] = {}
        self._client: jwt.PyJWKClient | None = None
        if config.jwks_file is not None:
            jwks = jwt.PyJWKSet.from_json(config.jwks_file.read_text(encoding="utf-8"))
            self._keys = {key.key_id: key for key in jwks.keys}
        elif config.jwks_url is not None:
            self._client = jwt.PyJWKClient(config.jwks_url, cache_keys=True, lifespan=300)

    def _signing_key(self, token: str, header: dict[str, Any]) -> Any:
        if self._client is not None:
            try:
                return self._client.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as exc:
                raise AuthError(f"no signing key: {exc}") from None
        kid = header.get("kid")
        if kid in self._keys:
            return self._keys[kid].key
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values())).key
        raise AuthError("the token's key id (kid) is not in the JWKS")

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """Return the claims of the bearer token in ``authorization`` if it verifies.

        Raises:
            AuthError: the header is missing, or the token fails any check.
        """
        if not authorization:
            raise AuthError("the Authorization header is missing")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("the Authorization header is not 'Bearer <JWT>'")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("the token is not a JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise AuthError(f"the algorithm {json.dumps(header.get('alg'))} is not RS384 or ES384")
        key = self._signing_key(token, header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=self._issuers,
                leeway=self._leeway,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("the token's aud is not the URL called") from None
        except jwt.InvalidIssuerError:
            raise AuthError("the token's iss is not an allowed issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"the token lacks the claim '{exc.claim}'") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"the token does not verify: {type(exc).__name__}") from None
        if not self._replay.claim(f"{claims['iss']}|{claims['jti']}", float(claims["exp"])):
            raise AuthError("the token's jti was already used")
        return claims
