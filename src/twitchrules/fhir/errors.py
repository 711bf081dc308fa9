"""Errors of the FHIR step: a resource that does not parse or cannot be mapped to a case."""

from __future__ import annotations

from twitchrules.errors import TwitchrulesError


class FhirResourceError(TwitchrulesError):
    """A FHIR resource that does not parse or lacks what the case needs; names type, id, field."""

    exit_code = 2

    def __init__(
        self,
        resource_type: str | None,
        resource_id: str | None,
        field: str,
        message: str,
        *,
        kind: str = "invalid",
    ) -> None:
        #: ``invalid``: not valid FHIR; ``unusable``: valid FHIR that cannot give a case.
        self.kind = kind
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.field = field
        self.reason = message
        super().__init__([(f"{self.resource}.{field}", message)])

    @property
    def resource(self) -> str:
        """The resource as ``Type/id`` (``?`` for what is not known)."""
        return f"{self.resource_type or '?'}/{self.resource_id or '?'}"
