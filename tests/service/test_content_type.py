"""A POST whose Content-Type is not JSON is 415 naming the type expected, not a vague 400."""

from __future__ import annotations

import json

import pytest

from twitchrules.service import SERVICE_ID

from ..conftest import base_case
from .hookdata import case_request

NOT_JSON = ["text/plain", "application/xml", "", "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x", "text/json"]


@pytest.mark.parametrize("content_type", NOT_JSON)
@pytest.mark.parametrize("path", ["", "/feedback"])
def test_body_that_is_not_declared_json_is_415(serve, client, content_type, path) -> None:
    """A JSON body sent as text/plain, XML, a form or an empty type: 415, an OperationOutcome."""
    server = serve()
    body = json.dumps(case_request(base_case())).encode()
    response = client.post(f"{server.url}/cds-services/{SERVICE_ID}{path}", content=body,
                           headers={"Content-Type": content_type})
    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    (issue,) = response.json()["issue"]
    assert issue["expression"] == ["Content-Type"]
    assert "application/json" in issue["diagnostics"]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON", "application/fhir+json"])
def test_json_media_types_are_accepted(serve, client, content_type) -> None:
    """application/json, with parameters or in any case, and application/*+json are read."""
    server = serve()
    body = json.dumps(case_request(base_case())).encode()
    response = client.post(f"{server.url}/cds-services/{SERVICE_ID}", content=body,
                           headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert len(response.json()["cards"]) == 1
