"""Hostile FHIR data and servers (issue 17, items 7-9): named 400/412 or a card, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from twitchrules.service import SERVICE_ID

from ..conftest import base_case
from .conftest import Answer
from .hookdata import case_request, fetching_request, hook_request, prefetch_for, resources_for


def always(body: Any, status: int = 200, raw: bytes | None = None) -> Answer:
    """An answer function giving the same JSON body (or raw bytes) to every GET."""
    data = raw if raw is not None else json.dumps(body).encode()
    return lambda _path: (status, data, {})


def call(client, server, body: dict[str, Any] | bytes):
    """POST a hook call (a dict as JSON, bytes as they are)."""
    url = f"{server.url}/cds-services/{SERVICE_ID}"
    if isinstance(body, bytes):
        return client.post(url, content=body, headers={"Content-Type": "application/json"})
    return client.post(url, json=body)


# Item 7: deep groups and tiny decimals in the prefetch.

def test_deeply_nested_groups_in_the_prefetch_are_400_not_500(serve, client) -> None:
    """QuestionnaireResponse groups ~120 deep give 400 naming the response, not a 500."""
    server = serve()
    resources = resources_for(base_case(), "p1")
    qr = next(r for r in resources if r["resourceType"] == "QuestionnaireResponse")
    group: dict[str, Any] = {"linkId": "findings", "item": []}
    top = group
    for _ in range(120):
        inner: dict[str, Any] = {"linkId": "findings", "item": []}
        group["item"].append(inner)
        group = inner
    qr["item"].append(top)
    response = call(client, server, hook_request(prefetch_for(resources), "p1"))
    assert response.status_code == 400, response.text
    assert "nested deeper" in response.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("value", [1e-320, 5e-324])
def test_tiny_value_decimal_gives_a_card_naming_the_field(serve, client, value: float) -> None:
    """A legal but subnormal valueDecimal gives the not-evaluated card naming the finding."""
    server = serve()
    response = call(client, server, case_request(base_case(sleep_hours=value)))
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    assert "findings.sleep_hours" in card["detail"]
    assert card["indicator"] == "info"


def test_duplicate_key_in_the_request_body_is_400_naming_it(serve, client) -> None:
    """A key given twice anywhere in the body is refused with its path (a hidden contradiction)."""
    server = serve()
    text = json.dumps(case_request(base_case(weakness=True)))
    text = text.replace('"valueBoolean": true', '"valueBoolean": true, "valueBoolean": false', 1)
    response = call(client, server, text.encode())
    assert response.status_code == 400
    diagnostics = response.json()["issue"][0]["diagnostics"]
    assert "valueBoolean" in diagnostics and "more than once" in diagnostics


def test_body_nested_too_deep_is_400(serve, client) -> None:
    """A request body nested 100,000 deep is 400, not a RecursionError."""
    server = serve()
    response = call(client, server, b'{"hook": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert response.status_code == 400
    assert "nested deeper" in response.text


# Item 8: the fhirServer allow-list is checked on normalised URLs, for every fetch.

@pytest.mark.parametrize("suffix", ["?x=@127.0.0.2/", "#frag", "/%2e%2e/admin", "/%2E%2E/%2e%2e/x",
                                    "/..%2fadmin", "\\..\\admin"])
def test_fhir_server_tricks_are_refused_and_never_called(serve, client, scripted, suffix) -> None:
    """A fhirServer with a query, a fragment or encoded dot segments is 412; nothing is fetched."""
    fhir = scripted(always({"resourceType": "Bundle", "type": "searchset", "entry": []}))
    server = serve(fhir_servers=[fhir.base])
    response = call(client, server, fetching_request(fhir.base + suffix))
    assert response.status_code == 412, response.text
    assert fhir.paths == []


def test_normalised_fhir_server_is_fetched_at_its_normal_form(serve, client, fhir_server) -> None:
    """`http://host/fhir/./R4/../` is the allowed base: fetched, at the normalised URL only."""
    fake = fhir_server(resources_for(base_case(weakness=True), "p1"))
    server = serve(fhir_servers=[fake.base])
    response = call(client, server, fetching_request(fake.base + "/./R4/../"))
    assert response.status_code == 200, response.text
    assert len(response.json()["cards"]) == 1
    assert fake.requests and all(r["path"].startswith("/fhir/") for r in fake.requests)
    assert "/./" not in "".join(r["path"] for r in fake.requests)


def searchset_with_next(next_url: str) -> dict[str, Any]:
    """An empty searchset Bundle whose next link is ``next_url``."""
    return {"resourceType": "Bundle", "type": "searchset", "entry": [],
            "link": [{"relation": "next", "url": next_url}]}


@pytest.mark.parametrize("next_path", ["/admin/secrets", "/fhirevil/page2", "/fhir/../admin",
                                       "/fhir/%2e%2e/admin"])
def test_next_link_outside_the_base_is_never_followed(serve, client, scripted, next_path) -> None:
    """A next link elsewhere on the same host is refused (412); the token never goes there."""
    def answer(path: str) -> tuple[int, bytes, dict[str, str]]:
        return 200, json.dumps(searchset_with_next(origin + next_path)).encode(), {}

    fhir = scripted(answer)
    origin = fhir.origin
    server = serve(fhir_servers=[fhir.base])
    response = call(client, server, fetching_request(fhir.base))
    assert response.status_code == 412, response.text
    assert all(path.startswith("/fhir/") for path in fhir.paths), fhir.paths


def test_next_link_under_the_base_is_followed(serve, client, scripted) -> None:
    """A next link under the base (with its paging query) is followed."""
    def answer(path: str) -> tuple[int, bytes, dict[str, str]]:
        if "page=2" in path:
            return 200, json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": []}).encode(), {}
        return 200, json.dumps(searchset_with_next(fhir.base + "?_getpages=abc&page=2")).encode(), {}

    fhir = scripted(answer)
    server = serve(fhir_servers=[fhir.base])
    call(client, server, fetching_request(fhir.base))
    assert any("page=2" in path for path in fhir.paths)


def test_patient_id_cannot_walk_out_of_the_base(serve, client, scripted) -> None:
    """A patientId like `../admin` is refused (400 or 412), and nothing is fetched."""
    fhir = scripted(always({"resourceType": "Patient", "id": "p1"}))
    server = serve(fhir_servers=[fhir.base])
    body = fetching_request(fhir.base)
    body["context"]["patientId"] = "../../admin?x="
    response = call(client, server, body)
    assert response.status_code in (400, 412)
    assert "patientId" in response.text
    assert fhir.paths == []


# Item 9: whatever an allowed FHIR server answers, never a 500.

HOSTILE_ANSWERS: dict[str, Answer] = {
    "json-array": always([1, 2, 3]),
    "json-string": always("a string"),
    "json-number": always(42),
    "not-json": always(None, raw=b"<html>oops</html>"),
    "not-utf8": always(None, raw=b'{"resourceType": "Bundle", "x": "\xff\xfe"}'),
    "deep-200000": always(None, raw=b'{"resourceType": "Bundle", "entry": '
                          + b"[" * 200_000 + b"]" * 200_000 + b"}"),
    "link-strings": always({"resourceType": "Bundle", "type": "searchset", "entry": [],
                            "link": ["x"]}),
    "link-not-list": always({"resourceType": "Bundle", "type": "searchset", "entry": [],
                             "link": {"relation": "next"}}),
    "next-without-url": always({"resourceType": "Bundle", "type": "searchset", "entry": [],
                                "link": [{"relation": "next", "url": 7}]}),
    "entry-not-list": always({"resourceType": "Bundle", "type": "searchset", "entry": "x"}),
    "invalid-resource": always({"resourceType": "Bundle", "type": "searchset",
                                "entry": [{"resource": {"resourceType": "Patient", "birthDate": 12}}]}),
    "duplicate-keys": always(None, raw=b'{"resourceType": "Patient", "id": "p1", "id": "p2"}'),
    "server-error": always({"resourceType": "OperationOutcome"}, status=500),
    "redirect": lambda _path: (302, b"", {"Location": "http://127.0.0.2/steal"}),
    "too-large": always(None, raw=b'{"resourceType": "Bundle", "pad": "' + b"x" * 300_000 + b'"}'),
}


@pytest.mark.parametrize("name", list(HOSTILE_ANSWERS))
def test_hostile_fhir_answers_give_412_never_500(serve, client, scripted, name) -> None:
    """Arrays, strings, deep bodies, broken links, invalid resources, redirects: 412 naming a key."""
    fhir = scripted(HOSTILE_ANSWERS[name])
    server = serve(fhir_servers=[fhir.base], fhir_max_response_bytes=200_000)
    response = call(client, server, fetching_request(fhir.base))
    assert response.status_code == 412, (name, response.status_code, response.text)
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"][0].startswith("prefetch.")
    assert "secret-token" not in response.text
