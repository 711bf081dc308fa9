"""URLs the service fetches: normalised first, then checked against an allow-list prefix.

Every URL the service would send a token to or fetch keys from (a request's ``fhirServer``,
each FHIR query and ``next`` link, a JWT's ``jku``, ``jwks_url``) passes through
:func:`normalise_url` and :func:`is_within` before it is fetched, and the normalised text
is what is fetched, so what was checked is what is called.

Normalising follows RFC 3986 section 6: scheme and host in lower case, the default port
dropped, percent-encoded unreserved characters decoded (``%2e`` is ``.``), dot segments
resolved. Refused outright: a scheme other than http(s), user information, a fragment, a
backslash, control characters or spaces, encoded slashes or NUL (``%2f``, ``%5c``,
``%00``), a host that is not plain ASCII, and a query unless the caller allows one.
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple
from urllib.parse import urlsplit

_UNRESERVED = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_FORBIDDEN_ENCODED = ("%2f", "%5c", "%00")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"^[a-z0-9._-]+$")


class Url(NamedTuple):
    """A normalised http(s) URL, split into the parts the allow-list compares."""

    scheme: str
    host: str
    port: int
    path: str
    query: str

    @property
    def origin(self) -> tuple[str, str, int]:
        """Scheme, host and port: what "the same server" means."""
        return (self.scheme, self.host, self.port)

    def text(self) -> str:
        """The URL as text (default port left out)."""
        port = "" if _DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{self.host}{port}{self.path}{query}"


class UrlRefused(ValueError):
    """A URL the service will not fetch; the message says why (no token, no query text)."""


def _decode_unreserved(path: str) -> str:
    def decode(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED_CHARS else f"%{match.group(1).upper()}"

    return _UNRESERVED.sub(decode, path)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: resolve ``.`` and ``..`` segments of an absolute path."""
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments[1:], start=1):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
            continue
        if segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
            continue
        output.append(segment)
    return "/" + "/".join(output)


def normalise_url(url: str, *, allow_query: bool = False) -> Url:
    """Return ``url`` normalised (see the module docstring).

    Raises:
        UrlRefused: the URL is not one the service fetches.
    """
    if not isinstance(url, str) or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise UrlRefused("has spaces or control characters")
    if "\\" in url:
        raise UrlRefused("has a backslash")
    if "#" in url:
        raise UrlRefused("has a fragment (#)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UrlRefused("is not an http(s) URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlRefused("has user information (user@)")
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal
        try:
            host = f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            raise UrlRefused("has no valid host") from None
    elif not _HOST_NAME.match(host):
        raise UrlRefused("has no valid host")
    if "?" in url and not allow_query:
        raise UrlRefused("has a query (?)")
    lowered = parts.path.lower()
    if any(code in lowered for code in _FORBIDDEN_ENCODED):
        raise UrlRefused("has an encoded slash, backslash or NUL in its path")
    path = remove_dot_segments(_decode_unreserved(parts.path or "/"))
    return Url(scheme, host, port or _DEFAULT_PORTS[scheme], path, parts.query)


def is_within(candidate: Url, base: Url) -> bool:
    """Whether ``candidate`` is ``base`` or below it: same origin, path under base's path."""
    if candidate.origin != base.origin:
        return False
    prefix = base.path.rstrip("/")
    return candidate.path.rstrip("/") == prefix or candidate.path.startswith(prefix + "/")


def is_loopback(url: Url) -> bool:
    """Whether the URL's host is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = url.host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
