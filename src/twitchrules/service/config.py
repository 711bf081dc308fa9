"""Service configuration: one model, read from a JSON file and ``TWITCHRULES_*`` variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from twitchrules.errors import TwitchrulesError

ENV_PREFIX = "TWITCHRULES_"
_LIST_FIELDS = ("jwt_issuers", "cors_origins", "fhir_servers")


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
    jwt_issuers: list[str] = Field(default_factory=list, description="Allowed JWT iss values.")
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS.")
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    audit_log: Path = Field(default=Path("twitchrules-audit.jsonl"))
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

    @property
    def jwt_required(self) -> bool:
        """True when a JWKS is configured, and so every hook call must carry a valid JWT."""
        return self.jwks_file is not None or self.jwks_url is not None

    @model_validator(mode="after")
    def _check(self) -> ServiceConfig:
        if self.jwks_file is not None and self.jwks_url is not None:
            raise ValueError("give jwks_file or jwks_url, not both")
        if self.jwt_required and not self.jwt_issuers:
            raise ValueError("jwt_issuers must list the allowed issuers when a JWKS is given")
        for url in [self.public_base_url, self.jwks_url, *self.fhir_servers]:
            if url is not None and not url.startswith(("http://", "https://")):
                raise ValueError(f"'{url}' is not an http(s) URL")
        return self

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
        candidate = urlsplit(url)
        segments = candidate.path.rstrip("/").split("/")
        if candidate.username or candidate.password or ".." in segments or "." in segments:
            return False
        for allowed in self.fhir_servers:
            base = urlsplit(allowed)
            base_segments = base.path.rstrip("/").split("/")
            if (
                candidate.scheme == base.scheme
                and candidate.netloc.lower() == base.netloc.lower()
                and segments[: len(base_segments)] == base_segments
            ):
                return True
        return False
