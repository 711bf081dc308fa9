"""Feedback report: real calls and real feedback through the service, then the report read back.

By hand: three calls on a thigh case with weakness (prompt, set by RF-WEAKNESS) get one
'accepted' and two 'overridden' (clinical-judgement, patient-declined); one benign calf call
(self-care) gets no feedback. So RF-WEAKNESS fired for 3 cards, 2 overridden: a rate of 2/3,
listed for review first at the defaults (0.5 on 3 or more cards); the calf card is ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from twitchrules import load_ruleset
from twitchrules.cli import main
from twitchrules.service import SERVICE_ID
from twitchrules.service.app import OVERRIDE_REASONS_EXTENSION
from twitchrules.service.cards import OVERRIDE_REASON_SYSTEM, OVERRIDE_REASONS

from ..conftest import CASES_DIR
from .hookdata import case_request


def _case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data["case"]


def _feedback(card: str, outcome: str, reason: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"card": card, "outcome": outcome,
                            "outcomeTimestamp": "2026-11-20T10:00:00Z"}
    if reason:
        item["overrideReason"] = {"reason": {"system": OVERRIDE_REASON_SYSTEM, "code": reason},
                                  "userComment": "free text stays out of the log"}
    return item


@pytest.fixture
def audit_log(serve, client, tmp_path: Path) -> Path:
    """An audit log written by a live service: four calls and three pieces of feedback."""
    server = serve(ruleset=load_ruleset(), explanation_ttl_seconds=0)
    url = f"{server.url}/cds-services/{SERVICE_ID}"
    weak = [client.post(url, json=case_request(_case("prompt-weakness-single-site"))).json()["cards"][0]
            for _ in range(3)]
    calf = client.post(url, json=case_request(_case("self-care-intense-exercise"))).json()["cards"][0]
    assert "prompt" in weak[0]["summary"].lower() and calf["uuid"]
    feedback = [_feedback(weak[0]["uuid"], "accepted"),
                _feedback(weak[1]["uuid"], "overridden", "clinical-judgement"),
                _feedback(weak[2]["uuid"], "overridden", "patient-declined")]
    assert client.post(f"{url}/feedback", json={"feedback": feedback}).status_code == 200
    path: Path = server.audit_log
    return path


def _report(path: Path, *options: str) -> Any:
    run = CliRunner().invoke(main, ["feedback", "report", str(path), *options])
    assert run.exit_code == 0, run.output
    return run.output


def test_report_counts_what_clinicians_did(audit_log: Path) -> None:
    """Per card kind and per rule: accepted, overridden with reasons, ignored; review first."""
    report = json.loads(_report(audit_log, "--format", "json"))
    assert report["calls"] == 4
    total = report["total"]
    assert (total["cards"], total["accepted"], total["overridden"], total["ignored"]) == (4, 1, 2, 1)
    kinds = {row["kind"]: row for row in report["by_kind"]}
    assert kinds["prompt"]["override_reasons"] == {"clinical-judgement": 1, "patient-declined": 1}
    assert (kinds["self-care"]["cards"], kinds["self-care"]["ignored"]) == (1, 1)
    rules = {row["rule"]: row for row in report["by_rule"]}
    assert rules["RF-WEAKNESS"]["version"] == load_ruleset().rule("RF-WEAKNESS").version
    assert (rules["RF-WEAKNESS"]["cards"], rules["RF-WEAKNESS"]["overridden"]) == (3, 2)
    assert rules["RF-WEAKNESS"]["override_rate"] == pytest.approx(0.667)
    assert "RF-WEAKNESS" in [row["rule"] for row in report["review_first"]]
    assert "SC-BENIGN-SHORT" not in [row["rule"] for row in report["review_first"]]
    assert "free text" not in audit_log.read_text(encoding="utf-8")


def test_text_and_html(audit_log: Path, tmp_path: Path) -> None:
    """The text names the rule to review; the HTML has an inline SVG chart and no script."""
    text = _report(audit_log)
    review = text.split("Review first", 1)[1].split("By rule version", 1)[0]
    assert "RF-WEAKNESS" in review and "clinical-judgement 1" in review
    page = tmp_path / "feedback.html"
    _report(audit_log, "--format", "html", "-o", str(page))
    html = page.read_text(encoding="utf-8")
    assert "<svg" in html and "<script" not in html and "RF-WEAKNESS" in html


def test_bad_line_is_skipped_and_named(audit_log: Path) -> None:
    """A line that is not JSON is named and skipped; the rest is still counted."""
    with audit_log.open("a", encoding="utf-8") as log:
        log.write("not json\n")
    report = json.loads(_report(audit_log, "--format", "json"))
    assert report["total"]["cards"] == 4 and len(report["skipped_lines"]) == 1
    assert report["skipped_lines"][0].startswith("line ")


def test_missing_log_is_exit_2(tmp_path: Path) -> None:
    """An audit log that does not exist: exit 2, named."""
    run = CliRunner().invoke(main, ["feedback", "report", str(tmp_path / "none.jsonl")])
    assert run.exit_code == 2 and "none.jsonl" in run.output


def test_discovery_declares_the_override_reasons(serve, client) -> None:
    """Discovery lists the override reasons the cards offer, the same codes and words."""
    server = serve()
    (service,) = client.get(f"{server.url}/cds-services").json()["services"]
    declared = service["extension"][OVERRIDE_REASONS_EXTENSION]
    assert [(c["code"], c["display"]) for c in declared] == list(OVERRIDE_REASONS)
    assert {c["system"] for c in declared} == {OVERRIDE_REASON_SYSTEM}
