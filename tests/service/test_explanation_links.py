"""The card's link to its HTML explanation, over real HTTP: unguessable, expiring, nothing clinical logged."""

from __future__ import annotations

import json
import logging
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from twitchrules import load_ruleset
from twitchrules.service import SERVICE_ID, read_audit_log
from twitchrules.service.hook import EXPLANATION_LABEL

from ..conftest import CASES_DIR
from .hookdata import case_request

CASE: dict[str, Any] = json.loads(
    (CASES_DIR / "prompt-weakness-single-site.json").read_text(encoding="utf-8"))["case"]


@pytest.fixture(scope="module")
def bundled():
    """The bundled ruleset (its words and its rules make the explanation)."""
    return load_ruleset()


def _link(server: Any, client: Any) -> str:
    response = client.post(f"{server.url}/cds-services/{SERVICE_ID}", json=case_request(CASE))
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    (link,) = [link for link in card.get("links") or [] if link["label"] == EXPLANATION_LABEL]
    assert link["type"] == "absolute"
    return str(link["url"])


def test_card_links_to_its_explanation(serve, client, bundled, tmp_path: Path) -> None:
    """The card's link opens the HTML report with its explanation; each call gets its own link."""
    server = serve(ruleset=bundled, explanation_store=tmp_path / "explanations.sqlite3")
    url = _link(server, client)
    assert url.startswith(f"{server.url}/explanations/")
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes, base64url
    page = client.get(url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert 'id="explanation"' in page.text and "What would change it" in page.text
    assert "muscle weakness" in page.text  # the weakness that sets the level, in words
    assert _link(server, client) != url
    assert stat.S_IMODE((tmp_path / "explanations.sqlite3").stat().st_mode) == 0o600


def test_link_expires(serve, client, bundled, tmp_path: Path) -> None:
    """After explanation_ttl_seconds the link is 404; the audit names the expiry, not the content."""
    server = serve(ruleset=bundled, explanation_ttl_seconds=1,
                   explanation_store=tmp_path / "explanations.sqlite3")
    url = _link(server, client)
    assert client.get(url).status_code == 200
    time.sleep(1.2)
    assert client.get(url).status_code == 404
    (call,) = [r for r in read_audit_log(server.audit_log) if r.get("event") == "call"]
    assert call["explanation_expires"] > 0 and url.rsplit("/", 1)[1] not in json.dumps(call)


def test_unknown_token_is_404(serve, client, bundled, tmp_path: Path) -> None:
    """A made-up token, or none at all, finds nothing."""
    server = serve(ruleset=bundled, explanation_store=tmp_path / "explanations.sqlite3")
    _link(server, client)
    assert client.get(f"{server.url}/explanations/{'A' * 43}").status_code == 404
    assert client.get(f"{server.url}/explanations/").status_code == 404


def test_no_link_when_switched_off(serve, client, bundled) -> None:
    """explanation_ttl_seconds 0: the card carries no explanation link."""
    server = serve(ruleset=bundled, explanation_ttl_seconds=0)
    response = client.post(f"{server.url}/cds-services/{SERVICE_ID}", json=case_request(CASE))
    (card,) = response.json()["cards"]
    assert all(link["label"] != EXPLANATION_LABEL for link in card.get("links") or [])


def test_no_clinical_content_in_server_logs(serve, client, bundled, tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """Every log record of a call and of opening its explanation is free of the case's content."""
    caplog.set_level(logging.DEBUG)
    server = serve(ruleset=bundled, explanation_store=tmp_path / "explanations.sqlite3")
    url = _link(server, client)
    assert client.get(url).status_code == 200
    logged = "\n".join(record.getMessage() for record in caplog.records).lower()
    clinical = ["weakness", "thigh", "2026-11-10", "female", "prompt", "neurolog"]
    assert [word for word in clinical if word in logged] == []
