"""Hook: one patient-view call, from the request to the card, with its one audit record.

Flow: prefetch (or fetch) -> FHIR -> case (``twitchrules.fhir``) -> ``evaluate`` -> card.
The service never builds facts or reads rules itself. Whatever happens, the call leaves
exactly one audit record (identifiers and outcomes, no clinical content).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from twitchrules.case import case_from_mapping
from twitchrules.case.canonical import canonical_case_json, case_sha256
from twitchrules.errors import CaseError
from twitchrules.fhir import FhirResourceError, case_from_resources, resources_in
from twitchrules.fhir.build import bundle_from_case
from twitchrules.pipeline import evaluate
from twitchrules.ruleset.model import Ruleset
from twitchrules.service.audit import AuditLog
from twitchrules.service.cards import problem_card, summary_card
from twitchrules.service.config import ServiceConfig
from twitchrules.service.explanations import SqliteExplanationStore
from twitchrules.service.models import Card, CdsRequest, CdsResponse, Link
from twitchrules.service.prefetch import PrefetchUnavailable, resolve_prefetch
from twitchrules.service.problems import HttpProblem

HOOK = "patient-view"
WARM_UP_CASE: dict[str, Any] = {
    "assessed_on": "2026-01-05",
    "patient": {"age": 40, "sex": "female"},
    "twitching": {"regions": [{"region": "calf", "side": "left", "since": "2025-12-01"}]},
    "findings": {"weakness": False, "diabetes": True, "pregnant": True, "metformin": True,
                 "b12_pmol_l": 300.0, "tsh_miu_l": 2.0},
}
"""The made-up case ``HookAnswerer.warm_up`` answers once at start (never audited or shown).

Written as FHIR (``bundle_from_case``), with ``WARM_UP_MEDICINES``, it holds every resource
type the service reads."""
_LISINOPRIL = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                           "code": "29046", "display": "lisinopril"}]}
WARM_UP_MEDICINES: tuple[dict[str, Any], ...] = (
    {"resourceType": "Medication", "id": "warm-up-medication", "code": _LISINOPRIL,
     "ingredient": [{"itemCodeableConcept": _LISINOPRIL}]},
    {"resourceType": "MedicationStatement", "id": "warm-up-statement", "status": "active",
     "subject": {"reference": "Patient/warm-up"},
     "medicationReference": {"reference": "Medication/warm-up-medication"}},
)
"""The two resource types the warm-up case's Bundle lacks: a Medication and a statement of it."""
EXPLANATION_LABEL = "Why this triage, why not another, what would change it"
"""The label of the card's link to its explanation page."""


@dataclass
class CallRecord:
    """What the audit log keeps of one call: identifiers and outcomes only."""

    identity: dict[str, Any]
    status: int = 200
    details: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """The record's fields in the order the audit line shows them."""
        return {"status": self.status, **self.details, **self.identity}


@dataclass
class HookAnswerer:
    """Answers patient-view calls with one ruleset, one configuration and one HTTP client."""

    config: ServiceConfig
    ruleset: Ruleset
    audit: AuditLog
    http: httpx.AsyncClient
    explanations: SqliteExplanationStore | None = None

    @property
    def label(self) -> str:
        """The card source label naming the ruleset."""
        return f"twitchrules ruleset {self.ruleset.name} {self.ruleset.version}"

    def warm_up(self) -> None:
        """Answer ``WARM_UP_CASE`` once, from FHIR resources to the card, and discard it.

        The FHIR models import their nested types on first use, and the engine loads its
        program on its first run: done here, at start, the first real call does not pay for
        it (about 0.1-0.5 s). Nothing is audited or stored.
        """
        bundle = bundle_from_case(WARM_UP_CASE, patient_id="warm-up", labs_as_observations=True,
                                  history_as_resources=True)
        resources = [*resources_in(bundle), *(dict(medicine) for medicine in WARM_UP_MEDICINES)]
        mapped = case_from_resources(resources, patient_id="warm-up",
                                     lab_max_age_days=self.config.lab_max_age_days,
                                     shape_checked=True)
        if mapped.case is None:
            raise RuntimeError("the warm-up case did not map from FHIR")  # a bug, not input
        result = evaluate(case_from_mapping(mapped.case), ruleset=self.ruleset)
        summary_card(result, patient_id="warm-up", rules_url="", ruleset=self.ruleset)

    async def answer(self, body: CdsRequest, service_id: str, claims: dict[str, Any] | None,
                     rules_url: str, explanations_url: str = "") -> CdsResponse:
        """The response to one call; writes its audit record, also when the call is refused."""
        record = CallRecord(identity={
            "hookInstance": body.hookInstance, "service": service_id,
            "patientId": body.context.patientId, "userId": body.context.userId,
            "jwt_iss": claims.get("iss") if claims else None,
            "ruleset": {"name": self.ruleset.name, "version": self.ruleset.version,
                        "sha256": self.ruleset.sha256},
        })
        try:
            return await self._answer(body, record, rules_url, explanations_url)
        except HttpProblem as problem:
            record.status = problem.status
            raise
        finally:
            self.audit.write("call", **record.fields())

    async def _answer(self, body: CdsRequest, record: CallRecord, rules_url: str,
                      explanations_url: str) -> CdsResponse:
        started = time.perf_counter()
        if body.hook != HOOK:
            raise HttpProblem(400, "not-supported", [("hook", f"this service answers '{HOOK}' only")])
        try:
            prefetch = await resolve_prefetch(body, self.config, self.http)
        except PrefetchUnavailable as exc:
            record.details["missing"] = exc.keys
            record.details["missing_reasons"] = dict(exc.reasons)
            raise HttpProblem(412, "not-found",
                              [(f"prefetch.{key}", reason) for key, reason in exc.reasons.items()]) from None
        try:
            # The body and every fetched answer were read by parse_json, which refused
            # nesting too deep and duplicate keys: the resources are not walked again.
            resources = [r for value in prefetch.values()
                         for r in resources_in(value, shape_checked=True)]
            mapped = case_from_resources(resources, patient_id=body.context.patientId,
                                         lab_max_age_days=self.config.lab_max_age_days,
                                         shape_checked=True)
        except FhirResourceError as exc:
            if exc.kind == "invalid":
                record.details["error"] = exc.problems[0][0]
                raise HttpProblem(400, "structure", exc.problems) from None
            return self._not_evaluated(exc.problems, record, rules_url)
        if mapped.case is None:
            record.details.update(outcome="no-assessment", cards=[])
            return CdsResponse(cards=[])
        record.identity["questionnaireResponse"] = mapped.questionnaire_response_id
        try:
            case = case_from_mapping(mapped.case)
        except CaseError as exc:
            return self._not_evaluated(exc.problems, record, rules_url)
        # The case's fingerprint, not its content: `twitchrules verify --audit` finds the
        # record of a case file by it.
        record.identity["case_sha256"] = case_sha256(case)
        result = evaluate(case, ruleset=self.ruleset)
        card = summary_card(result, patient_id=body.context.patientId, rules_url=rules_url,
                            ruleset=self.ruleset)
        if self.explanations is not None and explanations_url:
            # The link holds a random token only; the case stays in the private store.
            token, expires_at = self.explanations.put(canonical_case_json(case), self.ruleset.sha256)
            card = card.model_copy(update={"links": [*(card.links or []), Link(
                label=EXPLANATION_LABEL, url=f"{explanations_url}/{token}", type="absolute")]})
            record.details["explanation_expires"] = round(expires_at)
        record.details.update(
            outcome="evaluated", engine=result.engine.model_dump(), triage=result.triage.level,
            fired_rules=[step.rule for step in result.trace], cards=[card.uuid],
            suggestions=[s.uuid for s in card.suggestions or []],
            duration_ms=round((time.perf_counter() - started) * 1000, 2))
        return CdsResponse(cards=[card])

    def _not_evaluated(self, problems: list[tuple[str, str]], record: CallRecord,
                       rules_url: str) -> CdsResponse:
        card: Card = problem_card(problems, ruleset_label=self.label, rules_url=rules_url)
        record.details.update(outcome="not-evaluated", problems=[loc for loc, _ in problems],
                              cards=[card.uuid])
        return CdsResponse(cards=[card])
