"""JWT verification of CDS Clients (CDS Hooks 2.0, "Trusting CDS Clients").

The EHR signs a short-lived JWT per call with its private key (RS384 or ES384; never HMAC or
``none``) and sends it as ``Authorization: Bearer``. The service finds the key by the
header's ``kid``: in the key set its ``jku`` names, if ``jwt_jku_allow`` allows that URL (a
``jku`` off the list is refused, naming it, and never fetched), else in the configured
``jwks_file`` or ``jwks_url``. The key's type must be the one ``alg`` needs. Then it checks
the signature, that ``iss`` is allowed, that ``aud`` is exactly the URL called, that the
token has not expired and lives no longer than ``jwt_max_lifetime_seconds``, and that its
``jti`` has not been seen before (``replay``). Any failure is an ``AuthError`` (401).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import jwt

from twitchrules.case.reading import JsonProblem, parse_json
from twitchrules.service.config import ConfigError, ServiceConfig
from twitchrules.service.jwks import JwksError, JwksFetcher, keys_of
from twitchrules.service.replay import JtiStore
from twitchrules.service.urls import normalise_url

ALGORITHMS = ["RS384", "ES384"]
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]
_MAX_SHOWN = 200


class AuthError(Exception):
    """The request's JWT is missing or does not verify; the message says why (no token text)."""


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def load_jwks_file(path: Path) -> dict[str, jwt.PyJWK]:
    """The usable keys of a JWKS file by ``kid``.

    Raises:
        ConfigError: the file cannot be read, is not a JWK Set, or has no usable key.
    """
    try:
        keys = keys_of(parse_json(path.read_bytes()), f"jwks_file {path}")
    except (OSError, JsonProblem) as error:
        raise ConfigError([("jwks_file", f"cannot read {path}: {error}")]) from None
    except JwksError as error:
        raise ConfigError([("jwks_file", str(error))]) from None
    if not keys:
        raise ConfigError([("jwks_file", f"{path} has no RS384 (RSA) or ES384 (EC P-384) key with a kid")])
    return keys


class JwtVerifier:
    """Verifies CDS Client JWTs (see the module docstring)."""

    def __init__(self, config: ServiceConfig, *, replay: JtiStore, fetcher: JwksFetcher | None,
                 file_keys: dict[str, jwt.PyJWK] | None = None) -> None:
        self._config = config
        self._issuers = list(config.jwt_issuers)
        self._leeway = config.jwt_leeway_seconds
        self._max_lifetime = config.jwt_max_lifetime_seconds
        self._replay = replay
        self._fetcher = fetcher
        self._file_keys = file_keys
        self._jwks_url = normalise_url(config.jwks_url, allow_query=True) if config.jwks_url else None

    async def _signing_key(self, header: dict[str, Any]) -> jwt.PyJWK:
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("the token has no kid (key id) header")
        jku = header.get("jku")
        if jku is not None:
            allowed = self._config.jku_allowed(jku) if isinstance(jku, str) else None
            if allowed is None:
                raise AuthError(f"the token's jku {_shown(jku)} is not on jwt_jku_allow")
            return await self._fetched(allowed.text(), kid)
        if self._file_keys is not None:
            if kid not in self._file_keys:
                raise AuthError("the token's key id (kid) is not in the JWKS")
            return self._file_keys[kid]
        if self._jwks_url is not None:
            return await self._fetched(self._jwks_url.text(), kid)
        raise AuthError("the token has no jku header and no JWKS is configured")

    async def _fetched(self, url: str, kid: str) -> jwt.PyJWK:
        assert self._fetcher is not None  # built whenever a jku list or jwks_url is set
        parsed = normalise_url(url, allow_query=True)
        try:
            return await self._fetcher.key(parsed, kid)
        except JwksError as error:
            raise AuthError(str(error)) from None

    async def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
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
        except Exception:  # noqa: BLE001 - whatever the text is, it is not a JWT we read
            raise AuthError("the token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise AuthError(f"the algorithm {_shown(algorithm)} is not RS384 or ES384")
        key = await self._signing_key(header)
        if key.algorithm_name != algorithm:
            raise AuthError(f"the token's alg {algorithm} does not fit its key "
                            f"({key.key_type} key, for {key.algorithm_name})")
        claims = self._decode(token, key, algorithm, audience)
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > 512:
            raise AuthError("the token's jti is not a string of 1 to 512 characters")
        expires = float(claims["exp"]) + self._leeway
        claimed = await asyncio.to_thread(self._replay.claim, f"{claims['iss']}|{jti}", expires)
        if not claimed:
            raise AuthError("the token's jti was already used")
        return claims

    def _decode(self, token: str, key: jwt.PyJWK, algorithm: str, audience: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=[algorithm], audience=audience, issuer=self._issuers,
                leeway=self._leeway, options={"require": _REQUIRED_CLAIMS})
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
        except Exception as exc:  # noqa: BLE001 - a key/alg mismatch deep in the crypto library
            raise AuthError(f"the token does not verify: {type(exc).__name__}") from None
        limit = self._max_lifetime + self._leeway
        try:  # exact comparisons: an exp of 10^400 must not overflow a float
            too_long = (claims["exp"] - claims["iat"] > limit
                        or claims["exp"] > time.time() + limit)
        except (TypeError, OverflowError):
            too_long = True
        if too_long:
            raise AuthError(f"the token lives longer than jwt_max_lifetime_seconds "
                            f"({self._max_lifetime} s)")
        return claims
