"""The service answers a made-up case once at start: every resource type, nothing audited."""

from __future__ import annotations

from twitchrules.fhir import resources_in
from twitchrules.fhir.build import bundle_from_case
from twitchrules.fhir.mapping import READ_TYPES
from twitchrules.service import SERVICE_ID, read_audit_log
from twitchrules.service.hook import WARM_UP_CASE, WARM_UP_MEDICINES

from .hookdata import case_request


def test_the_warm_up_case_holds_every_resource_type_the_service_reads() -> None:
    """A type read but not warmed would make its first real call pay for its imports."""
    bundle = bundle_from_case(WARM_UP_CASE, patient_id="warm-up", labs_as_observations=True,
                              history_as_resources=True)
    resources = [*resources_in(bundle), *WARM_UP_MEDICINES]
    assert {resource["resourceType"] for resource in resources} == READ_TYPES


def test_the_warm_up_leaves_no_audit_record_and_the_first_call_is_the_first_record(
        serve, client) -> None:
    """Started, the service has answered the warm-up case but audited only real calls."""
    server = serve()
    assert not server.audit_log.exists() or read_audit_log(server.audit_log) == []
    case = {"assessed_on": "2026-11-20", "patient": {"age": 30},
            "twitching": {"regions": [{"region": "eyelid", "side": "left", "since": "2026-11-01"}]}}
    response = client.post(f"{server.url}/cds-services/{SERVICE_ID}",
                           json=case_request(case, patient_id="p1"))
    assert response.status_code == 200, response.text
    records = read_audit_log(server.audit_log)
    assert [(record["event"], record["patientId"]) for record in records] == [("call", "p1")]
