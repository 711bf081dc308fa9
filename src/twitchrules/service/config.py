"""Service configuration: one model, read from a JSON file and ``TWITCHRULES_*`` variables.

What the service keeps on disk (the audit log, the JWT replay store) defaults to a per-user
state directory (``platformdirs``: ``$XDG_STATE_HOME/twitchrules``, else
``~/.local/state/twitchrules`` on Linux), created readable by the service user only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from twitchrules.errors import TwitchrulesError
from twitchrules.service.urls import Url, UrlRefused, is_loopback, is_within, normalise_url

ENV_PREFIX = "TWITCHRULES_"
_LIST_FIELDS = ("jwt_issuers", "cors_origins", "fhir_servers", "jwt_jku_allow")


def state_dir() -> Path:
    """The per-user directory for the service's files (audit log, replay store)."""
    return Path(platformdirs.user_state_path("twitchrules"))


def _default_audit_log() -> Path:
    return state_dir() / "audit.jsonl"


def _default_jti_store() -> Path:
    return state_dir() / "jti.sqlite3"


def _default_explanation_store() -> Path:
    return state_dir() / "explanations.sqlite3"


class ConfigError(TwitchrulesError):
    """The service configuration is invalid; ``problems`` names each setting."""

    exit_code = 2


class ServiceConfig(BaseModel):
    """Settings of the CDS Hooks service; every one has a safe default except authentication."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    public_base_url: str | None = Field(
        default=None,
        description="The base URL the EHR calls, e.g. https://cds.example.org; a JWT's aud "
        "must equal this plus the called path. Unset: the URL of the request as received.",
    )
    jwks_file: Path | None = Field(default=None, description="JWKS file of the EHRs' keys.")
    jwks_url: str | None = Field(default=None, description="JWKS URL of the EHRs' keys.")
    jwt_jku_allow: list[str] = Field(
        default_factory=list,
        description="JWKS URLs a token's jku header may name: an entry is one URL, or a prefix "
        "when it ends with '/'. https only (http for loopback hosts, for tests). Setting it "
        "switches JWT verification on, like a JWKS.",
    )
    jwt_issuers: list[str] = Field(default_factory=list, description="Allowed JWT iss values.")
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    jwt_max_lifetime_seconds: int = Field(
        default=300, ge=1, le=86400,
        description="Longest token lifetime accepted (exp - iat, and exp - now); the CDS Hooks "
        "sandbox signs tokens for 300 s.",
    )
    jwks_cache_seconds: int = Field(default=300, ge=0, le=86400,
                                    description="How long fetched JWKS keys are reused.")
    jwks_min_refetch_seconds: float = Field(
        default=10.0, ge=0, le=3600,
        description="At most one fetch of a JWKS URL in this time (an unknown kid refetches once).")
    jwks_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    jwks_max_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    jti_store: Path = Field(
        default_factory=_default_jti_store,
        description="SQLite file remembering used jti values (shared by all workers of a "
        "host, kept across restarts).",
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS.")
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300,
        description="A request line and headers must arrive within this time.")
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="A request body must arrive within this time.")
    keep_alive_seconds: int = Field(default=5, ge=1, le=300,
                                    description="An idle keep-alive connection is closed after this.")
    max_connections: int = Field(
        default=256, ge=1, le=100_000,
        description="Open connections per worker; one more is answered 503 and closed.")
    workers: int = Field(default=1, ge=1, le=64, description="Worker processes (serve --workers).")
    audit_log: Path = Field(default_factory=_default_audit_log)
    audit_fsync: Literal["line", "interval", "off"] = Field(
        default="line",
        description="line: each record is on disk (fsync) before the response is sent; "
        "interval: fsync every audit_fsync_interval_ms; off: left to the operating system.")
    audit_fsync_interval_ms: int = Field(default=1000, ge=1, le=60_000)
    fhir_max_response_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    fhir_servers: list[str] = Field(
        default_factory=list,
        description="FHIR server base URLs the service may fetch from (and send the EHR's "
        "token to); a request's fhirServer must equal one or start with one plus '/'.",
    )
    fhir_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    lab_max_age_days: int = Field(default=90, ge=0, le=3650)
    rules_url: str | None = Field(
        default=None,
        description="URL of the rule reference shown as each card's source.url; unset: the "
        "service's own GET /rules.",
    )
    ruleset: Path | None = Field(default=None, description="Ruleset path; unset: bundled.")
    explanation_ttl_seconds: int = Field(
        default=86400, ge=0, le=30 * 86400,
        description="How long a card's explanation link works (default 24 h); after it the "
        "page is 404. 0: cards carry no explanation link.")
    explanation_store: Path = Field(
        default_factory=_default_explanation_store,
        description="SQLite file keeping the cases behind unexpired explanation links "
        "(shared by the workers of a host; readable by the service user only).")

    @property
    def jwt_required(self) -> bool:
        """True when a JWKS or a jku allow-list is configured: every hook call needs a valid JWT."""
        return self.jwks_file is not None or self.jwks_url is not None or bool(self.jwt_jku_allow)

    @model_validator(mode="after")
    def _check(self) -> ServiceConfig:
        if self.jwks_file is not None and self.jwks_url is not None:
            raise ValueError("give jwks_file or jwks_url, not both")
        if self.jwt_required and not self.jwt_issuers:
            raise ValueError("jwt_issuers must list the allowed issuers when a JWKS or "
                             "jwt_jku_allow is given")
        for url in [self.public_base_url, *self.fhir_servers]:
            if url is not None and not url.startswith(("http://", "https://")):
                raise ValueError(f"'{url}' is not an http(s) URL")
        for name, url in [("jwks_url", self.jwks_url),
                          *(("jwt_jku_allow", entry) for entry in self.jwt_jku_allow)]:
            if url is not None:
                _key_url(url, name)
        return self

    def jku_allowed(self, jku: str) -> Url | None:
        """The normalised ``jku`` if ``jwt_jku_allow`` lists it (or a prefix of it), else None."""
        try:
            candidate = normalise_url(jku, allow_query=True)
        except UrlRefused:
            return None
        if not _fetchable_key_url(candidate):
            return None
        for entry in self.jwt_jku_allow:
            allowed = normalise_url(entry, allow_query=True)
            if candidate == allowed:
                return candidate
            if entry.endswith("/") and not candidate.query and is_within(candidate, allowed):
                return candidate
        return None

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> ServiceConfig:
        """Return the configuration from a JSON file, then ``TWITCHRULES_*`` variables, then overrides.

        Raises:
            ConfigError: a setting is unknown or invalid; each is named.
        """
        settings: dict[str, Any] = {}
        if path is not None:
            try:
                loaded = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ConfigError([(str(path), f"cannot read the configuration: {exc}")]) from None
            if not isinstance(loaded, dict):
                raise ConfigError([(str(path), "is not a JSON object")])
            settings.update(loaded)
        environ = os.environ if environ is None else environ
        for name in cls.model_fields:
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw is None:
                continue
            settings[name] = (
                [item.strip() for item in raw.split(",") if item.strip()]
                if name in _LIST_FIELDS
                else raw
            )
        settings.update({key: value for key, value in overrides.items() if value is not None})
        try:
            return cls.model_validate(settings)
        except ValidationError as exc:
            problems = [
                (".".join(str(part) for part in error["loc"]) or "config", error["msg"])
                for error in exc.errors()
            ]
            raise ConfigError(problems) from None

    def fhir_server_allowed(self, url: str) -> bool:
        """Return True if the service may call ``url`` and send it the EHR's access token."""
        return self.allowed_fhir_server(url) is not None

    def allowed_fhir_server(self, url: str) -> Url | None:
        """The normalised ``url`` if it is, or lies under, an allowed FHIR server; else None.

        The URL is normalised before the prefix check (see ``service.urls``); one with a
        query, a fragment or user information is never allowed.
        """
        try:
            candidate = normalise_url(url)
        except UrlRefused:
            return None
        for allowed in self.fhir_servers:
            try:
                base = normalise_url(allowed)
            except UrlRefused:
                continue
            if is_within(candidate, base):
                return candidate
        return None


def _fetchable_key_url(url: Url) -> bool:
    return url.scheme == "https" or is_loopback(url)


def _key_url(url: str, setting: str) -> None:
    try:
        parsed = normalise_url(url, allow_query=True)
    except UrlRefused as refused:
        raise ValueError(f"{setting}: '{url}' {refused}") from None
    if not _fetchable_key_url(parsed):
        raise ValueError(f"{setting}: '{url}' must be https (http only for a loopback host)")
