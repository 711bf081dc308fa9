"""A resource is the patient's only when its subject is a reference to that Patient."""

from __future__ import annotations

from typing import Any

import pytest

from twitchrules.service import SERVICE_ID, read_audit_log

from ..conftest import base_case
from .hookdata import hook_request, prefetch_for, resources_for


def case_of_call(client, server, prefetch: dict[str, Any]) -> str:
    """The case fingerprint the service evaluated for a call with ``prefetch``."""
    response = client.post(f"{server.url}/cds-services/{SERVICE_ID}",
                           json=hook_request(prefetch, "p1"))
    assert response.status_code == 200, response.text
    assert len(response.json()["cards"]) == 1
    return [r for r in read_audit_log(server.audit_log) if r.get("event") == "call"][-1][
        "case_sha256"]


def records_with_subject(reference: str) -> list[dict[str, Any]]:
    """p1's case with a potassium result and a diabetes record whose subject is ``reference``."""
    resources = resources_for(base_case(potassium_mmol_l=2.1, diabetes=True), "p1")
    for resource in resources:
        if resource["resourceType"] in ("Observation", "Condition"):
            resource["subject"] = {"reference": reference}
    return resources


@pytest.mark.parametrize("reference", ["Group/p1", "Practitioner/p1", "Device/p1",
                                       "https://ehr.example.org/fhir/Group/p1", "p1"])
def test_subject_of_another_type_is_not_the_patients(serve, client, reference) -> None:
    """An Observation or Condition about `Group/p1` is not read for Patient p1."""
    server = serve()
    none_of_them = case_of_call(client, server, prefetch_for(resources_for(base_case(), "p1")))
    assert case_of_call(client, server, prefetch_for(records_with_subject(reference))) == none_of_them


@pytest.mark.parametrize("reference", ["https://ehr.example.org/fhir/Patient/p1",
                                       "Patient/p1/_history/3"])
def test_absolute_and_versioned_patient_references_are_the_patients(serve, client,
                                                                    reference) -> None:
    """`https://.../Patient/p1` and `Patient/p1/_history/3` name Patient p1: their records are read."""
    server = serve()
    relative = case_of_call(client, server, prefetch_for(records_with_subject("Patient/p1")))
    none_of_them = case_of_call(client, server, prefetch_for(resources_for(base_case(), "p1")))
    read = case_of_call(client, server, prefetch_for(records_with_subject(reference)))
    assert read == relative != none_of_them


def test_assessment_about_a_group_is_no_assessment(serve, client) -> None:
    """A QuestionnaireResponse whose subject is `Group/p1` is not p1's: no card."""
    server = serve()
    resources = resources_for(base_case(), "p1")
    for resource in resources:
        if resource["resourceType"] == "QuestionnaireResponse":
            resource["subject"] = {"reference": "Group/p1"}
    response = client.post(f"{server.url}/cds-services/{SERVICE_ID}",
                           json=hook_request(prefetch_for(resources), "p1"))
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}
