"""Every clinical case file, sent as FHIR resources to the live service, matches ``evaluate``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from twitchrules import CaseError, evaluate, load_ruleset
from twitchrules.case import case_from_mapping
from twitchrules.service import SERVICE_ID, ServiceConfig, create_app, read_audit_log
from twitchrules.service.cards import INDICATORS

from ..conftest import CASES_DIR, EXAMPLES
from .conftest import LiveServer
from .hookdata import hook_request, prefetch_for, resources_for

CASE_FILES = sorted(CASES_DIR.glob("*.json"))


def _cases() -> list[Any]:
    """Each case file's case (and the bundled examples), as pytest params."""
    params = []
    for path in CASE_FILES:
        document = json.loads(path.read_text(encoding="utf-8"))
        params.append(pytest.param(document["case"], id=document.get("id", path.stem)))
    for path in sorted(EXAMPLES.glob("*.json")):
        params.append(pytest.param(json.loads(path.read_text(encoding="utf-8")),
                                   id=f"example-{path.stem}"))
    return params


def test_there_are_at_least_ten_cases() -> None:
    """The issue asks for at least ten clinical case files through the service."""
    assert len(_cases()) >= 10


@pytest.fixture(scope="module")
def bundled_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The service with the bundled ruleset, shared by this module's calls."""
    audit = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    server = LiveServer(create_app(ServiceConfig(audit_log=audit), ruleset=load_ruleset()))
    server.audit_log = audit  # type: ignore[attr-defined]
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("case", _cases())
def test_case_file_through_the_service(bundled_server: LiveServer, case: dict[str, Any],
                                       request: pytest.FixtureRequest) -> None:
    """The card's indicator and summary match the level ``evaluate`` gives the same case."""
    try:
        case_from_mapping(case)
    except CaseError:
        pytest.skip("an invalid case (the CLI tests cover refusal)")
    expected = evaluate(case).to_dict()
    level = expected["triage"]["level"]
    patient_id = f"p{abs(hash(request.node.callspec.id)) % 10**8}"
    body = hook_request(prefetch_for(resources_for(case, patient_id)), patient_id)
    response = httpx.post(f"{bundled_server.url}/cds-services/{SERVICE_ID}", json=body,
                          timeout=10)
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    assert card["indicator"] == INDICATORS[level]
    assert level in card["summary"]
    assert expected["triage"]["timeframe"][:40] in card["summary"] + card["detail"]
    for entry in expected["differential"]:
        assert entry["title"] in card["detail"]
    vocabulary = load_ruleset().vocabulary
    for item in expected["missing_information"]:  # asked as the Questionnaire's question
        assert vocabulary.question(item["input"]) in card["detail"]
    record = [r for r in read_audit_log(bundled_server.audit_log)
              if r.get("hookInstance") == body["hookInstance"]]
    assert record and record[0]["triage"] == level
    assert record[0]["fired_rules"] == [step["rule"] for step in expected["trace"]]

