"""The CDS Hooks service over real loopback HTTP: discovery, calls, errors, feedback, audit."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from twitchrules.fhir import QUESTIONNAIRE_URL
from twitchrules.service import SERVICE_ID, read_audit_log

from ..conftest import base_case
from .hookdata import PREFETCH_KEYS, case_request, hook_request, prefetch_for, resources_for

RED_FLAG_CASE = {
    "assessed_on": "2026-11-20",
    "patient": {"age": 42, "sex": "male"},
    "twitching": {
        "regions": [
            {"region": "forearm", "side": "right", "since": "2026-08-20"},
            {"region": "thigh", "side": "left", "since": "2026-11-01"},
        ],
        "course": "worsening",
        "relieved_by_rest": False,
    },
    "findings": {"weakness": True, "weakness_progressive": True, "caffeine_mg_per_day": 500,
                 "potassium_mmol_l": 4.1, "diabetes": True, "metformin": True},
}


def _call_url(server) -> str:
    return f"{server.url}/cds-services/{SERVICE_ID}"


def test_discovery_lists_the_patient_view_service(serve, client) -> None:
    """GET /cds-services lists twitching-assessment for patient-view with its prefetch."""
    server = serve()
    response = client.get(f"{server.url}/cds-services")
    assert response.status_code == 200
    (service,) = response.json()["services"]
    assert service["id"] == SERVICE_ID
    assert service["hook"] == "patient-view"
    assert service["title"] and service["description"]
    assert set(service["prefetch"]) == set(PREFETCH_KEYS)
    assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert QUESTIONNAIRE_URL in service["prefetch"]["assessments"]
    for loinc in ("2823-3", "2601-3", "17861-6", "3016-3", "2132-9"):
        assert f"http://loinc.org|{loinc}" in service["prefetch"]["labs"]
    assert "clinical-status=active" in service["prefetch"]["conditions"]
    assert "status=active" in service["prefetch"]["medicationRequests"]


def test_discovery_description_names_everything_the_mapping_reads(serve, client) -> None:
    """The description names every lab, condition and medicine class the FHIR mapping reads."""
    server = serve()
    (service,) = client.get(f"{server.url}/cds-services").json()["services"]
    description = service["description"]
    for words in ("potassium", "magnesium", "calcium", "TSH", "vitamin B12", "sodium",
                  "creatine kinase", "free T4", "diabetes", "pregnancy", "metformin",
                  "beta-2 agonist", "corticosteroid", "stimulant medicine",
                  "cholinesterase inhibitor", "diuretic", "proton-pump inhibitor", "lithium"):
        assert words in description, words


def test_patient_view_returns_one_summary_card(serve, client) -> None:
    """An evaluated assessment gives exactly one card following the spec's card rules."""
    server = serve()
    response = client.post(_call_url(server), json=case_request(RED_FLAG_CASE))
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    assert len(card["summary"]) < 140
    assert "prompt" in card["summary"]
    assert card["indicator"] == "warning"
    uuid.UUID(card["uuid"])
    assert card["source"]["label"] == "twitchrules ruleset twitching 0.1.0"
    assert card["source"]["url"] == f"{server.url}/rules"
    assert "**Triage: Prompt**" in card["detail"]
    assert "**When to refer (the article's checklist)**" in card["detail"]
    assert "Weakness has developed alongside the twitching." in card["detail"]


def test_card_suggests_coded_service_requests(serve, client) -> None:
    """Tests of the differential become draft ServiceRequests with shipped codes."""
    server = serve()
    case = {**base_case(weakness=True, weakness_asymmetric=True, weakness_progressive=True,
                        numbness=False)}
    response = client.post(_call_url(server), json=case_request(case))
    (card,) = response.json()["cards"]
    assert card["selectionBehavior"] == "any"
    requests = [a["resource"] for s in card["suggestions"] for a in s["actions"]]
    assert all(r["resourceType"] == "ServiceRequest" and r["status"] == "draft"
               and r["intent"] == "proposal" and r["subject"] == {"reference": "Patient/p1"}
               for r in requests)
    codes = {c["code"] for r in requests for c in r["code"].get("coding", [])}
    assert "42803009" in codes  # EMG, SNOMED CT
    assert all(s["uuid"] for s in card["suggestions"])


def test_patient_without_assessment_gets_no_cards(serve, client) -> None:
    """All prefetch given but no completed assessment: 200 with an empty card list."""
    server = serve()
    resources = [r for r in resources_for(RED_FLAG_CASE, "p1")
                 if r["resourceType"] != "QuestionnaireResponse"]
    in_progress = {**resources_for(RED_FLAG_CASE, "p1")[1], "status": "in-progress"}
    response = client.post(_call_url(server),
                           json=hook_request(prefetch_for([*resources, in_progress]), "p1"))
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_missing_prefetch_without_fhir_server_is_412(serve, client) -> None:
    """A prefetch key absent and no fhirServer: 412 naming the key."""
    server = serve()
    body = case_request(RED_FLAG_CASE)
    del body["prefetch"]["labs"]
    response = client.post(_call_url(server), json=body)
    assert response.status_code == 412
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["prefetch.labs"]


def test_missing_prefetch_is_fetched_from_allowed_fhir_server(serve, client, fhir_server) -> None:
    """Missing keys are read from an allowed fhirServer with the EHR's bearer token."""
    resources = resources_for(RED_FLAG_CASE, "p7")
    ehr = fhir_server(resources)
    server = serve(fhir_servers=[ehr.base])
    body = hook_request(
        {"patient": resources[0]}, "p7", fhirServer=ehr.base,
        fhirAuthorization={"access_token": "secret-token", "token_type": "Bearer",
                           "expires_in": 300, "scope": "patient/*.read", "subject": "cds"},
    )
    response = client.post(_call_url(server), json=body)
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    assert card["indicator"] == "warning"
    assert len(ehr.requests) == 5  # the five keys not prefetched
    assert all(r["authorization"] == "Bearer secret-token" for r in ehr.requests)
    assert any(r["path"].startswith("/fhir/QuestionnaireResponse?patient=p7") for r in ehr.requests)


def test_fhir_server_off_the_allow_list_gets_no_token(serve, client, fhir_server) -> None:
    """A fhirServer not on the allow-list is never called: 412, and no token leaves."""
    ehr = fhir_server(resources_for(RED_FLAG_CASE, "p1"))
    server = serve(fhir_servers=["http://127.0.0.1:1/other"])
    body = hook_request(None, "p1", fhirServer=ehr.base,
                        fhirAuthorization={"access_token": "secret-token",
                                           "token_type": "Bearer", "expires_in": 300,
                                           "scope": "patient/*.read", "subject": "cds"})
    response = client.post(_call_url(server), json=body)
    assert response.status_code == 412
    assert ehr.requests == []


def test_unknown_service_is_404(serve, client) -> None:
    """Calling a service id that does not exist gives 404 with an OperationOutcome."""
    server = serve()
    response = client.post(f"{server.url}/cds-services/nope", json=case_request(RED_FLAG_CASE))
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"
    # whatever the body: an empty object, or no JSON at all, is still 404, not 400
    for body in (b"{}", b"{not json"):
        for path in ("/cds-services/nope", "/cds-services/nope/feedback"):
            response = client.post(f"{server.url}{path}", content=body,
                                   headers={"content-type": "application/json"})
            assert response.status_code == 404, (path, body, response.text)


def test_malformed_requests_are_400_naming_the_problem(serve, client) -> None:
    """Bad JSON, a missing context field and a non-FHIR resource each give 400."""
    server = serve()
    url = _call_url(server)
    not_json = client.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    assert not_json.json()["resourceType"] == "OperationOutcome"

    body = case_request(RED_FLAG_CASE)
    del body["context"]["patientId"]
    missing = client.post(url, json=body)
    assert missing.status_code == 400
    assert "context.patientId" in json.dumps(missing.json())

    body = case_request(RED_FLAG_CASE)
    body["prefetch"]["patient"]["birthDate"] = "1984-13-45"
    bad_resource = client.post(url, json=body)
    assert bad_resource.status_code == 400
    assert bad_resource.json()["issue"][0]["expression"] == ["Patient/p1.birthDate"]

    body = case_request(RED_FLAG_CASE, hook="order-sign")
    assert client.post(url, json=body).status_code == 400


def test_body_over_the_limit_is_413(serve, client) -> None:
    """A body larger than max_body_bytes is refused with 413, declared or chunked."""
    server = serve(max_body_bytes=4096)
    body = case_request(RED_FLAG_CASE)
    body["padding"] = "x" * 5000
    response = client.post(_call_url(server), json=body)
    assert response.status_code == 413

    def chunks():
        data = json.dumps(body).encode()
        for start in range(0, len(data), 1000):
            yield data[start:start + 1000]

    chunked = client.post(_call_url(server), content=chunks(),
                          headers={"content-type": "application/json"})
    assert chunked.status_code == 413


def test_unevaluable_assessment_gets_a_problem_card(serve, client) -> None:
    """An assessment that breaks the case contract gives one info card naming the field."""
    server = serve()
    case = json.loads(json.dumps(RED_FLAG_CASE))
    case["twitching"]["regions"][0]["since"] = "2026-12-01"  # after assessed_on
    response = client.post(_call_url(server), json=case_request(case))
    assert response.status_code == 200
    (card,) = response.json()["cards"]
    assert card["indicator"] == "info"
    assert "not evaluated" in card["summary"]
    assert "twitching.regions[0].since" in card["detail"]


def test_feedback_is_accepted_and_audited(serve, client) -> None:
    """Accepted and overridden feedback is answered 200 and written to the audit log."""
    server = serve()
    (card,) = client.post(_call_url(server), json=case_request(RED_FLAG_CASE)).json()["cards"]
    suggestion = card["suggestions"][0]["uuid"] if card.get("suggestions") else None
    feedback = {"feedback": [
        {"card": card["uuid"], "outcome": "accepted",
         "acceptedSuggestions": [{"id": suggestion}] if suggestion else [],
         "outcomeTimestamp": "2026-11-20T10:00:00Z"},
        {"card": card["uuid"], "outcome": "overridden",
         "overrideReason": {"reason": {"code": "patient-declined",
                                       "system": "http://twitchrules.org/fhir/CodeSystem/"
                                                 "override-reasons"},
                            "userComment": "Patient wants to wait"},
         "outcomeTimestamp": "2026-11-20T10:05:00Z"},
    ]}
    response = client.post(f"{_call_url(server)}/feedback", json=feedback)
    assert response.status_code == 200, response.text
    records = [r for r in read_audit_log(server.audit_log) if r["event"] == "feedback"]
    assert [r["outcome"] for r in records] == ["accepted", "overridden"]
    assert records[1]["overrideReason"] == "patient-declined"
    assert "Patient wants to wait" not in server.audit_log.read_text()
    bad = client.post(f"{_call_url(server)}/feedback", json={"feedback": [{"card": "x"}]})
    assert bad.status_code == 400


@pytest.mark.parametrize("reason", [
    {"system": "http://evil.invalid", "code": "patient-declined"},
    {"system": "http://twitchrules.org/fhir/CodeSystem/override-reasons", "code": "made-up"},
    {"code": "patient-declined"},
])
def test_feedback_with_a_reason_never_offered_is_400_and_not_audited(serve, client, reason) -> None:
    """An override reason that is not one the cards offer (another system, an unknown code)
    is refused, naming the field, and nothing of that call reaches the audit log."""
    server = serve()
    (card,) = client.post(_call_url(server), json=case_request(RED_FLAG_CASE)).json()["cards"]
    offered = {(c["system"], c["code"]) for c in card["overrideReasons"]}
    assert (reason.get("system"), reason["code"]) not in offered
    feedback = {"feedback": [
        {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-20T10:00:00Z"},
        {"card": card["uuid"], "outcome": "overridden", "overrideReason": {"reason": reason},
         "outcomeTimestamp": "2026-11-20T10:05:00Z"}]}
    response = client.post(f"{_call_url(server)}/feedback", json=feedback)
    assert response.status_code == 400, response.text
    assert "feedback[1].overrideReason.reason" in response.json()["issue"][0]["diagnostics"]
    assert not [r for r in read_audit_log(server.audit_log) if r["event"] == "feedback"]


def test_every_call_is_audited_without_clinical_content(serve, client) -> None:
    """Each call appends one record of ids, ruleset, engine, triage, rules and card uuids."""
    server = serve()
    body = case_request(RED_FLAG_CASE, patient_id="p42")
    (card,) = client.post(_call_url(server), json=body).json()["cards"]
    (record,) = [r for r in read_audit_log(server.audit_log) if r["event"] == "call"]
    assert record["hookInstance"] == body["hookInstance"]
    assert record["patientId"] == "p42"
    assert record["userId"] == "Practitioner/dr-1"
    assert set(record["ruleset"]) == {"name", "version", "sha256"}
    assert record["engine"]["name"]
    assert record["triage"] == "prompt"
    assert "RF-WEAKNESS" in record["fired_rules"]
    assert record["cards"] == [card["uuid"]]
    assert record["time"].endswith("+00:00")
    text = server.audit_log.read_text()
    for clinical in ("forearm", "weakness_progressive", "caffeine", "2026-08-20"):
        assert clinical not in text


def test_cors_preflight_for_a_configured_origin(serve, client) -> None:
    """A browser preflight from an allowed origin is answered with CORS headers."""
    server = serve(cors_origins=["https://sandbox.example"])
    response = client.options(
        _call_url(server),
        headers={"Origin": "https://sandbox.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://sandbox.example"
    other = client.get(f"{server.url}/cds-services", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_questionnaire_and_rules_are_served(serve, client) -> None:
    """GET /questionnaire gives the FHIR Questionnaire; GET /rules the rule reference."""
    server = serve()
    questionnaire = client.get(f"{server.url}/questionnaire").json()
    assert questionnaire["resourceType"] == "Questionnaire"
    assert questionnaire["url"] == QUESTIONNAIRE_URL
    rules = client.get(f"{server.url}/rules").json()
    assert rules["name"] == "twitching"
    assert any(rule["id"] == "RF-WEAKNESS" for rule in rules["rules"])


def test_server_survives_garbage(serve, client) -> None:
    """Odd bodies never crash the server: each gets a 4xx and the next call works."""
    server = serve()
    url = _call_url(server)
    for content in (b"", b"[]", b"null", b'{"hook": 1}', "{\"hook\": \"\u0000\"}".encode(),
                    b'{"prefetch": {"patient": 5}}'):
        response = client.post(url, content=content, headers={"content-type": "application/json"})
        assert 400 <= response.status_code < 500
    body = case_request(RED_FLAG_CASE)
    body["prefetch"]["labs"] = {"resourceType": "Bundle", "entry": [{"resource": [1, 2]}]}
    assert client.post(url, json=body).status_code == 400
    assert client.post(url, json=case_request(RED_FLAG_CASE)).status_code == 200
    assert isinstance(httpx.get(f"{server.url}/cds-services").json(), dict)
