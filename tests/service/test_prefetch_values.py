"""What each prefetch value means (CDS Hooks 2.0 "Prefetch Template"), and searches read whole."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from twitchrules import load_ruleset
from twitchrules.service import SERVICE_ID, read_audit_log

from ..conftest import base_case
from .hookdata import fetching_request, hook_request, prefetch_for, resources_for, searchset


@pytest.fixture(scope="module")
def twitching_ruleset():
    """The bundled ruleset, whose rules read potassium."""
    return load_ruleset()


def potassium(index: int, value: float, day: str) -> dict[str, Any]:
    """A final serum potassium Observation of patient p1 on ``day``."""
    return {"resourceType": "Observation", "id": f"k{index}", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": day,
            "valueQuantity": {"value": value, "unit": "mmol/L",
                              "system": "http://unitsofmeasure.org", "code": "mmol/L"}}


def paged_ehr(pages: int, resources: list[dict[str, Any]]):
    """An answer function: the case's resources, and labs over ``pages`` pages, newest last.

    Pages 1 to ``pages - 1`` hold normal potassium results; the last page holds the newest
    one, 2.1 mmol/L (critically low). The search is not sorted, as FHIR allows.
    """
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource)

    def answer(path: str) -> tuple[int, bytes, dict[str, str]]:
        parts = urlsplit(path)
        kind = parts.path.removeprefix("/fhir/")
        if kind == "Patient/p1":
            body: dict[str, Any] = by_type["Patient"][0]
        elif kind == "Observation":
            page = int(parse_qs(parts.query).get("page", ["1"])[0])
            if page < pages:
                found = [potassium(page * 100 + i, 4.2, "2026-11-0" + str(1 + i % 5))
                         for i in range(20)]
            else:
                found = [potassium(9999, 2.1, "2026-11-19")]
            body = searchset(found)
            if page < pages:
                body["link"] = [{"relation": "next",
                                 "url": f"{origin[0]}/fhir/Observation?patient=p1&page={page + 1}"}]
        else:
            body = searchset(by_type.get(kind, []))
        return 200, json.dumps(body).encode(), {}

    origin: list[str] = []
    return answer, origin


def start_paged_ehr(scripted, pages: int):
    """A scripted FHIR server holding a case and ``pages`` pages of potassium results."""
    answer, origin = paged_ehr(pages, resources_for(base_case(), "p1"))
    fhir = scripted(answer)
    origin.append(fhir.origin)
    return fhir


def call(client, server, body: dict[str, Any]):
    """POST a hook call."""
    return client.post(f"{server.url}/cds-services/{SERVICE_ID}", json=body)


def last_call_record(server) -> dict[str, Any]:
    """The audit record of the last hook call."""
    return [r for r in read_audit_log(server.audit_log) if r.get("event") == "call"][-1]


# Searches are read to their last page, or the call is refused.

def test_labs_on_the_fifth_page_are_read(serve, client, scripted, twitching_ruleset) -> None:
    """Five pages are read whole: the newest potassium, 2.1 mmol/L on page 5, gives a critical card."""
    fhir = start_paged_ehr(scripted, pages=5)
    server = serve(ruleset=twitching_ruleset, fhir_servers=[fhir.base])
    response = call(client, server, fetching_request(fhir.base))
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    assert card["indicator"] == "critical", card["summary"]
    assert any("page=5" in path for path in fhir.paths)


def test_labs_beyond_the_page_limit_are_412_not_a_card(serve, client, scripted,
                                                        twitching_ruleset) -> None:
    """Six pages: 412 naming prefetch.labs and why, never a card from the first five pages."""
    fhir = start_paged_ehr(scripted, pages=6)
    server = serve(ruleset=twitching_ruleset, fhir_servers=[fhir.base])
    response = call(client, server, fetching_request(fhir.base))
    assert response.status_code == 412, response.text
    (issue,) = response.json()["issue"]
    assert issue["expression"] == ["prefetch.labs"]
    assert "more than 5 pages" in issue["diagnostics"]
    assert not any("page=6" in path for path in fhir.paths)
    record = last_call_record(server)
    assert record["status"] == 412 and record["missing"] == ["labs"]
    assert "more than 5 pages" in record["missing_reasons"]["labs"]


def test_a_paginated_prefetch_is_completed_from_the_fhir_server(serve, client, scripted) -> None:
    """A prefetched Bundle with a next link (CDS Hooks 2.0 allows it) gets its other pages fetched."""
    fhir = start_paged_ehr(scripted, pages=2)
    server = serve(fhir_servers=[fhir.base])
    prefetch = prefetch_for(resources_for(base_case(), "p1"))
    prefetch["labs"] = {**searchset([potassium(1, 4.2, "2026-11-01")]), "link": [
        {"relation": "next", "url": f"{fhir.base}/Observation?patient=p1&page=2"}]}
    body = fetching_request(fhir.base)
    body["prefetch"] = prefetch
    response = call(client, server, body)
    assert response.status_code == 200, response.text
    assert [path for path in fhir.paths] == ["/fhir/Observation?patient=p1&page=2"]


def test_a_paginated_prefetch_without_fhir_server_is_412(serve, client) -> None:
    """A prefetched Bundle with a next link and no fhirServer: 412, not a card from page 1."""
    server = serve()
    prefetch = prefetch_for(resources_for(base_case(), "p1"))
    prefetch["labs"]["link"] = [{"relation": "next",
                                 "url": "https://ehr.test.invalid/fhir/Observation?page=2"}]
    response = call(client, server, hook_request(prefetch, "p1"))
    assert response.status_code == 412, response.text
    (issue,) = response.json()["issue"]
    assert issue["expression"] == ["prefetch.labs"]
    assert "next page" in issue["diagnostics"]


# null means "no data" (CDS Hooks 2.0); only a key left out is fetched or 412.

@pytest.mark.parametrize("key", ["labs", "conditions", "medicationRequests",
                                 "medicationStatements"])
def test_null_search_key_is_no_data_not_missing(serve, client, fhir_server, key) -> None:
    """A search key sent as null is an empty search: a card, the same case, nothing fetched."""
    case = base_case(potassium_mmol_l=4.2, diabetes=True)
    ehr = fhir_server(resources_for(case, "p1"))
    server = serve(fhir_servers=[ehr.base])
    empty = prefetch_for(resources_for(base_case(), "p1"))
    response = call(client, server, hook_request(empty, "p1"))
    assert response.status_code == 200, response.text
    empty_case = last_call_record(server)["case_sha256"]
    prefetch = prefetch_for(resources_for(base_case(), "p1"))
    prefetch[key] = None
    response = call(client, server, hook_request(prefetch, "p1", fhirServer=ehr.base))
    assert response.status_code == 200, response.text
    assert len(response.json()["cards"]) == 1
    assert last_call_record(server)["case_sha256"] == empty_case
    assert ehr.requests == []


def test_null_labs_leave_the_potassium_unknown(serve, client, twitching_ruleset) -> None:
    """`"labs": null` gives the card of no labs at all: potassium stays unknown, never normal."""
    server = serve(ruleset=twitching_ruleset)
    with_empty_labs = prefetch_for(resources_for(base_case(), "p1"))
    with_null_labs = {**with_empty_labs, "labs": None}
    empty = call(client, server, hook_request(with_empty_labs, "p1")).json()["cards"][0]
    null = call(client, server, hook_request(with_null_labs, "p1")).json()["cards"][0]
    assert null["summary"] == empty["summary"] and null["indicator"] == empty["indicator"]
    assert "potassium" in null["detail"].lower()


def test_null_patient_gets_the_not_evaluated_card(serve, client) -> None:
    """`"patient": null` (no Patient) is no data: the problem card naming the Patient, not 412."""
    server = serve()
    prefetch = {**prefetch_for(resources_for(base_case(), "p1")), "patient": None}
    response = call(client, server, hook_request(prefetch, "p1"))
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    assert card["indicator"] == "info" and "Patient" in card["detail"]


def test_left_out_key_is_still_412_naming_it(serve, client) -> None:
    """Only a key left out counts as missing: 412 naming it when there is no fhirServer."""
    server = serve()
    prefetch = prefetch_for(resources_for(base_case(), "p1"))
    del prefetch["conditions"]
    prefetch["labs"] = None
    response = call(client, server, hook_request(prefetch, "p1"))
    assert response.status_code == 412, response.text
    assert [issue["expression"] for issue in response.json()["issue"]] == [["prefetch.conditions"]]


# An OperationOutcome in the prefetch is a failed prefetch (CDS Hooks 2.0 asks services to check).

def outcome(severity: str) -> dict[str, Any]:
    """An OperationOutcome with one issue of ``severity``."""
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": "exception"}]}


def outcome_entry(severity: str) -> dict[str, Any]:
    """A searchset entry carrying an OperationOutcome about the search (search.mode outcome)."""
    return {"resource": outcome(severity), "search": {"mode": "outcome"}}


@pytest.mark.parametrize("key", ["patient", "assessments", "labs"])
def test_operation_outcome_prefetch_without_server_is_412_naming_the_key(serve, client,
                                                                        key) -> None:
    """An OperationOutcome in place of a key's data is a failed prefetch: 412 naming it."""
    server = serve()
    prefetch = prefetch_for(resources_for(base_case(), "p1"))
    prefetch[key] = outcome("error")
    response = call(client, server, hook_request(prefetch, "p1"))
    assert response.status_code == 412, response.text
    (issue,) = response.json()["issue"]
    assert issue["expression"] == [f"prefetch.{key}"]
    assert "OperationOutcome" in issue["diagnostics"]


@pytest.mark.parametrize("severity", ["error", "fatal"])
def test_searchset_with_an_error_outcome_is_a_failed_prefetch(serve, client, severity) -> None:
    """A searchset holding an error or fatal OperationOutcome is 412, not a card from the rest."""
    server = serve()
    prefetch = prefetch_for(resources_for(base_case(), "p1"))
    prefetch["labs"] = searchset([potassium(1, 4.2, "2026-11-10")])
    prefetch["labs"]["entry"].append(outcome_entry(severity))
    response = call(client, server, hook_request(prefetch, "p1"))
    assert response.status_code == 412, response.text
    assert response.json()["issue"][0]["expression"] == ["prefetch.labs"]


def test_failed_prefetch_is_fetched_from_the_allowed_server(serve, client, fhir_server) -> None:
    """An OperationOutcome for assessments is refetched from an allowed fhirServer: a card."""
    resources = resources_for(base_case(), "p1")
    ehr = fhir_server(resources)
    server = serve(fhir_servers=[ehr.base])
    prefetch = {**prefetch_for(resources), "assessments": outcome("error")}
    response = call(client, server, hook_request(prefetch, "p1", fhirServer=ehr.base))
    assert response.status_code == 200, response.text
    assert len(response.json()["cards"]) == 1
    assert [r["path"].split("?")[0] for r in ehr.requests] == ["/fhir/QuestionnaireResponse"]


@pytest.mark.parametrize("severity", ["warning", "information"])
def test_searchset_with_a_warning_outcome_keeps_its_entries(serve, client, severity) -> None:
    """A warning or information OperationOutcome is no failure: the other entries are read."""
    server = serve()
    prefetch = prefetch_for(resources_for(base_case(), "p1"))
    prefetch["labs"] = searchset([potassium(1, 2.1, "2026-11-19")])
    assert call(client, server, hook_request(prefetch, "p1")).status_code == 200
    plain_case = last_call_record(server)["case_sha256"]
    prefetch["labs"]["entry"].append(outcome_entry(severity))
    response = call(client, server, hook_request(prefetch, "p1"))
    assert response.status_code == 200, response.text
    assert last_call_record(server)["case_sha256"] == plain_case


def test_fhir_server_answering_an_operation_outcome_is_412(serve, client, scripted) -> None:
    """A fetched search answered 200 with an OperationOutcome is 412 naming the key."""
    resources = resources_for(base_case(), "p1")
    fhir = scripted(lambda _path: (200, json.dumps(outcome("fatal")).encode(), {}))
    server = serve(fhir_servers=[fhir.base])
    prefetch = prefetch_for(resources)
    del prefetch["labs"]
    body = fetching_request(fhir.base)
    body["prefetch"] = prefetch
    response = call(client, server, body)
    assert response.status_code == 412, response.text
    (issue,) = response.json()["issue"]
    assert issue["expression"] == ["prefetch.labs"]
    assert "OperationOutcome" in issue["diagnostics"]
