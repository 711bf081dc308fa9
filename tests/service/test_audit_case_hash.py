"""The audit record names the evaluated case by the sha256 of its canonical form, nothing more."""

from __future__ import annotations

import copy

from twitchrules.case import case_from_mapping
from twitchrules.case.canonical import canonical_case_json, case_sha256
from twitchrules.service import SERVICE_ID, read_audit_log

from .hookdata import case_request
from .test_service import RED_FLAG_CASE


def test_call_record_carries_the_canonical_case_sha256(serve, client) -> None:
    """An evaluated call's audit record holds the sha256 of the case the FHIR resources map to."""
    server = serve()
    body = case_request(RED_FLAG_CASE, patient_id="p7")
    assert client.post(f"{server.url}/cds-services/{SERVICE_ID}", json=body).status_code == 200
    (record,) = [r for r in read_audit_log(server.audit_log) if r["event"] == "call"]
    assert record["case_sha256"] == case_sha256(case_from_mapping(RED_FLAG_CASE))
    other = copy.deepcopy(RED_FLAG_CASE)
    other["findings"]["weakness_progressive"] = False
    assert record["case_sha256"] != case_sha256(case_from_mapping(other))


def test_canonical_case_ignores_spelling_not_content() -> None:
    """Key order, explicit nulls and written-out defaults give the same canonical case."""
    case = copy.deepcopy(RED_FLAG_CASE)
    spelled = {"findings": {**case["findings"], "tremor": None}, "twitching": case["twitching"],
               "patient": case["patient"], "assessed_on": case["assessed_on"]}
    assert canonical_case_json(case_from_mapping(spelled)) == canonical_case_json(
        case_from_mapping(case))
    assert "tremor" not in canonical_case_json(case_from_mapping(spelled))
    case["findings"]["potassium_mmol_l"] = 4.2
    assert case_sha256(case_from_mapping(case)) != case_sha256(case_from_mapping(spelled))
