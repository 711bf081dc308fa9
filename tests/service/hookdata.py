"""Builders of CDS Hooks requests from contract cases, shared by the service tests."""

from __future__ import annotations

import uuid
from typing import Any

from twitchrules.fhir import bundle_from_case

PREFETCH_KEYS = ("patient", "assessments", "labs", "conditions", "medicationRequests",
                 "medicationStatements")
_KEY_OF_TYPE = {
    "QuestionnaireResponse": "assessments",
    "Observation": "labs",
    "Condition": "conditions",
    "MedicationRequest": "medicationRequests",
    "MedicationStatement": "medicationStatements",
}


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a FHIR searchset Bundle of ``resources``."""
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"resource": r} for r in resources]}


def resources_for(case: dict[str, Any], patient_id: str) -> list[dict[str, Any]]:
    """Return the EHR's resources for ``case``: labs as Observations, history as records."""
    bundle = bundle_from_case(case, patient_id=patient_id, labs_as_observations=True,
                              history_as_resources=True)
    return [entry["resource"] for entry in bundle["entry"]]


def prefetch_for(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the prefetch a CDS Client sends for these resources (all six keys)."""
    grouped: dict[str, list[dict[str, Any]]] = {key: [] for key in PREFETCH_KEYS[1:]}
    prefetch: dict[str, Any] = {}
    for resource in resources:
        if resource["resourceType"] == "Patient":
            prefetch["patient"] = resource
        else:
            grouped[_KEY_OF_TYPE[resource["resourceType"]]].append(resource)
    prefetch.update({key: searchset(found) for key, found in grouped.items()})
    return prefetch


def hook_request(
    prefetch: dict[str, Any] | None,
    patient_id: str,
    **extra: Any,
) -> dict[str, Any]:
    """Return a patient-view request body for ``patient_id`` with ``prefetch``."""
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-1", "patientId": patient_id},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(extra)
    return body


def case_request(case: dict[str, Any], patient_id: str = "p1", **extra: Any) -> dict[str, Any]:
    """Return a patient-view request whose prefetch holds ``case`` as FHIR resources."""
    return hook_request(prefetch_for(resources_for(case, patient_id)), patient_id, **extra)


def fetching_request(fhir_server: str, **extra: Any) -> dict[str, Any]:
    """A call that prefetches nothing, so every key is fetched from ``fhir_server``."""
    return hook_request(None, "p1", fhirServer=fhir_server,
                        fhirAuthorization={"access_token": "secret-token", "token_type": "Bearer",
                                           "expires_in": 300, "scope": "patient/*.read",
                                           "subject": "twitchrules"}, **extra)
