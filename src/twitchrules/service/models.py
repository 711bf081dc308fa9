"""HL7 CDS Hooks 2.0 wire models: discovery, request, response (cards) and feedback.

Each model's docstring names the section of the specification (https://cds-hooks.hl7.org/2.0/)
it implements; the spec's limits (summary under 140 characters, indicator values, selection
behaviour) live here as field constraints, so an invalid card cannot be built.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Indicator = Literal["info", "warning", "critical"]


class _Wire(BaseModel):
    """Base of outgoing models: strict, no unknown fields."""

    model_config = ConfigDict(extra="forbid")


class _Incoming(BaseModel):
    """Base of incoming models: unknown fields (spec extensions) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")


class Coding(_Wire):
    """A code from a code system (CDS Hooks 2.0, "Coding"; the FHIR Coding subset)."""

    system: str | None = None
    code: str = Field(min_length=1)
    display: str | None = None


class IncomingCoding(_Incoming):
    """A Coding sent by a client, e.g. an override reason in feedback."""

    system: str | None = None
    code: str | None = None
    display: str | None = None


# --- Discovery (spec 2.0 section "Discovery") -------------------------------------------


class CdsService(_Wire):
    """One service in the discovery response (CDS Hooks 2.0, "Discovery", Service)."""

    hook: str
    title: str | None = None
    description: str
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None
    extension: dict[str, Any] | None = None


class DiscoveryResponse(_Wire):
    """The body of ``GET {baseURL}/cds-services`` (CDS Hooks 2.0, "Discovery")."""

    services: list[CdsService]


# --- Request (spec 2.0 section "Calling a CDS Service") ---------------------------------


class FhirAuthorization(_Incoming):
    """OAuth 2.0 access token for the client's FHIR server (CDS Hooks 2.0, "FHIR Resource Access")."""

    access_token: str = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None


class PatientViewContext(_Incoming):
    """Context of the ``patient-view`` hook: who is looking at whose record."""

    userId: str = Field(min_length=1, max_length=200)
    patientId: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-.]+$")
    encounterId: str | None = None


class CdsRequest(_Incoming):
    """The body of ``POST {baseURL}/cds-services/{id}`` (CDS Hooks 2.0, "HTTP Request")."""

    hook: str = Field(min_length=1, max_length=100)
    hookInstance: str = Field(min_length=1, max_length=100, json_schema_extra={"format": "uuid"})
    fhirServer: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=2000)
    fhirAuthorization: FhirAuthorization | None = None
    context: PatientViewContext
    prefetch: dict[str, dict[str, Any] | None] | None = None

    @field_validator("hookInstance")
    @classmethod
    def _hook_instance_is_uuid(cls, value: str) -> str:
        try:
            uuid.UUID(value)
        except ValueError:
            raise ValueError("is not a UUID") from None
        return value



# --- Response (spec 2.0 section "CDS Service Response", Card) ---------------------------


class Source(_Wire):
    """Where a card's guidance comes from (CDS Hooks 2.0, "Source")."""

    label: str = Field(min_length=1)
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(_Wire):
    """One change a suggestion makes in the EHR (CDS Hooks 2.0, "Action")."""

    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _resource_for_create(self) -> Action:
        if self.type in ("create", "update") and self.resource is None:
            raise ValueError(f"a '{self.type}' action needs a resource")
        return self


class Suggestion(_Wire):
    """A suggested set of actions the clinician can accept (CDS Hooks 2.0, "Suggestion")."""

    label: str = Field(min_length=1)
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] = Field(default_factory=list)


class Link(_Wire):
    """A link to a reference or a SMART app (CDS Hooks 2.0, "Link")."""

    label: str = Field(min_length=1)
    url: str = Field(min_length=1)
    type: Literal["absolute", "smart"]
    appContext: str | None = None


class Card(_Wire):
    """One card of guidance (CDS Hooks 2.0, "Card Attributes")."""

    uuid: str = Field(default_factory=lambda: str(uuid.uuid4()))
    summary: str = Field(min_length=1, max_length=139)  # the spec: "<140-character summary"
    detail: str | None = None
    indicator: Indicator
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = None
    links: list[Link] | None = None

    @model_validator(mode="after")
    def _selection_with_suggestions(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when suggestions are given")
        return self


class CdsResponse(_Wire):
    """The body answering a hook call (CDS Hooks 2.0, "CDS Service Response")."""

    cards: list[Card]
    systemActions: list[Action] | None = None


# --- Feedback (spec 2.0 section "Feedback") ---------------------------------------------


class AcceptedSuggestion(_Incoming):
    """A suggestion the user accepted (CDS Hooks 2.0, "Suggestion accepted")."""

    id: str = Field(min_length=1)


class OverrideReason(_Incoming):
    """Why the user overrode a card (CDS Hooks 2.0, "Overridden guidance")."""

    reason: IncomingCoding | None = None
    userComment: str | None = Field(default=None, max_length=2000)


class Feedback(_Incoming):
    """One piece of feedback on a card (CDS Hooks 2.0, "Feedback")."""

    card: str = Field(min_length=1, max_length=100)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: dt.datetime


class FeedbackRequest(_Incoming):
    """The body of ``POST {baseURL}/cds-services/{id}/feedback`` (CDS Hooks 2.0, "Feedback")."""

    feedback: list[Feedback] = Field(min_length=1, max_length=100)


# --- Errors ---------------------------------------------------------------------------


class OperationOutcomeIssue(_Wire):
    """One issue of a FHIR OperationOutcome."""

    severity: Literal["fatal", "error", "warning", "information"]
    code: str
    diagnostics: str | None = None
    expression: list[str] | None = None


class OperationOutcome(_Wire):
    """A FHIR R4 OperationOutcome: the body of every error response of the service."""

    resourceType: Literal["OperationOutcome"] = "OperationOutcome"
    issue: list[OperationOutcomeIssue]


def operation_outcome(code: str, problems: list[tuple[str, str]]) -> dict[str, Any]:
    """Return an OperationOutcome dict with one error issue per (location, message) problem."""
    issues = [
        OperationOutcomeIssue(
            severity="error",
            code=code,
            diagnostics=f"{location}: {message}" if location else message,
            expression=[location] if location else None,
        )
        for location, message in problems
    ] or [OperationOutcomeIssue(severity="error", code=code)]
    return OperationOutcome(issue=issues).model_dump(exclude_none=True)
