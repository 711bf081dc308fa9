"""JWKS fetching: the EHRs' public keys from a ``jku`` (or ``jwks_url``), fetched carefully.

A key set is fetched only from a URL already allowed (``jwt_jku_allow`` or ``jwks_url``),
with a timeout and a size limit, following at most three redirects and only to the same
scheme, host and port and to a URL that is itself allowed. It is cached for
``jwks_cache_seconds``; a token whose ``kid`` is not in the cached set makes one refetch,
and no URL is fetched more than once per ``jwks_min_refetch_seconds`` (so a flood of
tokens with made-up key ids costs one request, not one each); over all URLs, at most
``FETCHES_PER_WINDOW`` fetches happen per window, so tokens naming ever-new URLs under an
allowed prefix cannot make it a request generator. Any failure refuses the token (401); a
stale key set is never used past its time.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx
import jwt

from twitchrules.case.reading import JsonProblem, parse_json
from twitchrules.service.urls import Url, UrlRefused, normalise_url

MAX_REDIRECTS = 3
MAX_URLS = 256
"""Most key-set URLs remembered (a prefix entry allows many); the oldest is forgotten first."""
FETCHES_PER_WINDOW = 10
"""Most fetches over all URLs in one ``min_refetch_seconds`` window (tokens naming ever-new
URLs under an allowed prefix must not turn the service into a request generator)."""


class JwksError(Exception):
    """The key set could not be fetched or read; the message names the URL and why."""


@dataclass
class _Entry:
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float = float("-inf")
    attempted_at: float = float("-inf")
    failure: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_USABLE: dict[tuple[Any, Any], str] = {("RSA", None): "RS384", ("EC", "P-384"): "ES384"}
"""Key type (and curve) -> the one algorithm such a key may verify here."""


def signing_key(raw: dict[str, Any]) -> jwt.PyJWK | None:
    """The JWK as a key for RS384 (RSA) or ES384 (EC P-384), or None if it is neither.

    A symmetric (``oct``) key, another curve, or a key whose ``alg`` or ``use`` says
    otherwise is never usable: the token's ``alg`` must be the key's own.
    """
    kty = raw.get("kty")
    algorithm = _USABLE.get((kty, raw.get("crv") if kty == "EC" else None))
    if algorithm is None or raw.get("alg", algorithm) != algorithm or raw.get("use", "sig") != "sig":
        return None
    try:
        return jwt.PyJWK(raw, algorithm=algorithm)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None  # bad numbers: skip the key, as RFC 7517 says for keys one cannot use


def keys_of(document: Any, source: str) -> dict[str, jwt.PyJWK]:
    """The usable signing keys of a JWKS document by ``kid`` (keys without a kid left out)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError(f"{source} is not a JWK Set (an object with 'keys')")
    found: dict[str, jwt.PyJWK] = {}
    for raw in document["keys"]:
        if isinstance(raw, dict) and isinstance(raw.get("kid"), str):
            key = signing_key(raw)
            if key is not None:
                found[raw["kid"]] = key
    return found


class JwksFetcher:
    """Fetches and caches key sets from allowed URLs (see the module docstring)."""

    def __init__(self, client: httpx.AsyncClient, *, allowed: Callable[[str], Url | None],
                 cache_seconds: float, min_refetch_seconds: float, max_bytes: int) -> None:
        self._client = client
        self._allowed = allowed
        self._cache_seconds = cache_seconds
        self._min_refetch = min_refetch_seconds
        self._max_bytes = max_bytes
        self._entries: collections.OrderedDict[str, _Entry] = collections.OrderedDict()
        self._recent: collections.deque[float] = collections.deque()
        self.fetches = 0
        """How many HTTP fetches were made (for tests and the audit of a flood)."""

    async def key(self, url: Url, kid: str) -> jwt.PyJWK:
        """The key ``kid`` of the key set at ``url`` (already allowed), fetching if needed.

        Raises:
            JwksError: the key set cannot be had, or it has no key ``kid``.
        """
        entry = self._entries.get(url.text())
        if entry is None:
            entry = self._entries[url.text()] = _Entry()
            if len(self._entries) > MAX_URLS:
                self._entries.popitem(last=False)
        now = time.monotonic()
        fresh = now - entry.fetched_at < self._cache_seconds
        if fresh and kid in entry.keys:
            return entry.keys[kid]
        async with entry.lock:
            now = time.monotonic()
            fresh = now - entry.fetched_at < self._cache_seconds
            if fresh and kid in entry.keys:  # fetched meanwhile by another call
                return entry.keys[kid]
            if now - entry.attempted_at < self._min_refetch:  # rate limit: use what we have
                if entry.failure is not None:
                    raise JwksError(entry.failure)
                if kid in entry.keys:
                    return entry.keys[kid]
                raise JwksError(f"the key id (kid) is not in the JWKS at {url.text()}")
            self._spend_fetch(now)
            entry.attempted_at = now
            try:
                entry.keys = await self._fetch(url)
            except JwksError as error:
                entry.failure, entry.keys, entry.fetched_at = str(error), {}, float("-inf")
                raise
            entry.failure, entry.fetched_at = None, time.monotonic()
        if kid not in entry.keys:
            raise JwksError(f"the key id (kid) is not in the JWKS at {url.text()}")
        return entry.keys[kid]

    def _spend_fetch(self, now: float) -> None:
        window = max(self._min_refetch, 1.0)
        while self._recent and now - self._recent[0] > window:
            self._recent.popleft()
        if len(self._recent) >= FETCHES_PER_WINDOW:
            raise JwksError("too many key-set fetches just now; try again shortly")
        self._recent.append(now)

    async def _fetch(self, url: Url) -> dict[str, jwt.PyJWK]:
        self.fetches += 1
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            try:
                async with self._client.stream(
                    "GET", current.text(), headers={"Accept": "application/json", "Accept-Encoding": "identity"},
                    follow_redirects=False,
                ) as response:
                    if response.is_redirect:
                        current = self._redirect(current, response.headers.get("location", ""))
                        continue
                    if response.status_code != 200:
                        raise JwksError(f"the JWKS at {url.text()} answered {response.status_code}")
                    body = await self._read(response, url)
            except httpx.HTTPError as error:
                raise JwksError(f"the JWKS at {url.text()} could not be fetched "
                                f"({type(error).__name__})") from None
            try:
                return keys_of(parse_json(body), f"the JWKS at {url.text()}")
            except JsonProblem as problem:
                raise JwksError(f"the JWKS at {url.text()} is not JSON ({problem.message})") from None
        raise JwksError(f"the JWKS at {url.text()} redirects more than {MAX_REDIRECTS} times")

    def _redirect(self, current: Url, location: str) -> Url:
        try:
            target = normalise_url(urljoin(current.text(), location), allow_query=True)
        except UrlRefused:
            raise JwksError(f"the JWKS at {current.text()} redirects to a URL that is refused") from None
        if target.origin != current.origin:
            raise JwksError(f"the JWKS at {current.text()} redirects to another host")
        allowed = self._allowed(target.text())
        if allowed is None:
            raise JwksError(f"the JWKS at {current.text()} redirects outside the allowed URLs")
        return allowed

    async def _read(self, response: httpx.Response, url: Url) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
            raise JwksError(f"the JWKS at {url.text()} is larger than {self._max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise JwksError(f"the JWKS at {url.text()} is larger than {self._max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
