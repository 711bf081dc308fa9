"""The pages the service's clinicians open, in headless Chromium: the served explanation and the feedback report.

Each is loaded with every host but loopback unresolvable and Chromium's network log on
(``page_requests``): it must render its sections (the feedback report its chart), ask for
nothing beyond itself, and show markup in what it shows (ruleset words, audit log fields)
as text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from twitchrules import explain, load_ruleset
from twitchrules.cli import main
from twitchrules.service import SERVICE_ID
from twitchrules.service.hook import EXPLANATION_LABEL

from ..test_audit import by_id, copy_starter, edit_rules
from ..test_explain_chromium import page_requests
from ..test_html_chromium import dump_dom, measured, rendered_text
from .hookdata import case_request
from .test_feedback_report import _case, _feedback

HOSTILE = "<script>document.title='owned'</script> Weakness & \"quoted\""


def _explanation_url(server: Any, client: Any, case: dict[str, Any]) -> str:
    response = client.post(f"{server.url}/cds-services/{SERVICE_ID}", json=case_request(case))
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    (link,) = [link for link in card.get("links") or [] if link["label"] == EXPLANATION_LABEL]
    return str(link["url"])


def test_served_explanation_renders_offline(serve, client, tmp_path: Path) -> None:
    """The card's explanation link, opened in Chromium offline: its sections, and no other request."""
    bundled = load_ruleset()
    server = serve(ruleset=bundled, explanation_store=tmp_path / "explanations.sqlite3")
    case = _case("prompt-weakness-single-site")
    url = _explanation_url(server, client, case)
    dom, asked = page_requests(url, tmp_path / "profile")
    assert [request for request in asked if request != url] == [], asked
    assert 'id="explanation"' in dom and "<script" not in dom
    text = rendered_text(client.get(url).text, tmp_path)
    explanation = explain(case, ruleset=bundled)
    assert f"Why {explanation.triage.label.lower()}" in text
    for phrase in explanation.triage.supporting:
        assert phrase in text
    for heading in ("Why not a higher level", "Why not another condition", "What would change it"):
        assert heading in text
    for item in explanation.what_if:
        assert item.summary in text


def test_served_explanation_shows_ruleset_markup_as_text(serve, client, tmp_path: Path) -> None:
    """A rule title with a script in it reaches the served page as text, never as an element."""
    folder = copy_starter(tmp_path)
    edit_rules(folder, "20-red-flags.yaml",
               lambda rules: by_id(rules, "RF-WEAKNESS").update(title=HOSTILE))
    server = serve(ruleset=load_ruleset(folder), explanation_store=tmp_path / "explanations.sqlite3")
    url = _explanation_url(server, client, _case("self-care-intense-exercise"))
    page = client.get(url).text
    assert "<script" not in page and "&lt;script&gt;" in page
    dom, asked = page_requests(url, tmp_path / "profile")
    assert "<script" not in dom and [request for request in asked if request != url] == []
    assert HOSTILE in rendered_text(page, tmp_path)


@pytest.fixture
def feedback_log(serve, client, tmp_path: Path) -> Path:
    """An audit log from a live service (three weakness cards: one accepted, two overridden;
    one calf card ignored), then two hand-written records whose fields carry markup."""
    server = serve(ruleset=load_ruleset(), explanation_ttl_seconds=0)
    url = f"{server.url}/cds-services/{SERVICE_ID}"
    weak = [client.post(url, json=case_request(_case("prompt-weakness-single-site"))).json()["cards"][0]
            for _ in range(3)]
    client.post(url, json=case_request(_case("self-care-intense-exercise")))
    feedback = [_feedback(weak[0]["uuid"], "accepted"),
                _feedback(weak[1]["uuid"], "overridden", "clinical-judgement"),
                _feedback(weak[2]["uuid"], "overridden", "patient-declined")]
    assert client.post(f"{url}/feedback", json={"feedback": feedback}).status_code == 200
    hostile = [{"event": "call", "triage": "<script>alert(1)</script>", "cards": ["hostile-card"],
                "fired_rules": ["<img src=x onerror=alert(1)>"]},
               {"event": "feedback", "card": "hostile-card", "outcome": "overridden",
                "overrideReason": "<b>bold</b> reason"}]
    log: Path = server.audit_log
    with log.open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(record) + "\n" for record in hostile)
    return log


def _report(log: Path, output_format: str, target: Path | None = None) -> str:
    options = ["-o", str(target)] if target else []
    run = CliRunner().invoke(main, ["feedback", "report", str(log), "--format", output_format, *options])
    assert run.exit_code == 0, run.output
    return run.output


_CHART = ("[document.querySelectorAll('#chart svg rect').length,"
          "Math.round(document.querySelector('#chart svg').getBBox().width),"
          "Math.round(document.querySelector('#chart svg').getBBox().height)].join(',')")
_WEAKNESS_BAR = ("[...[...document.querySelectorAll('#chart svg g')].find(g => g.querySelector('title')"
                 ".textContent.startsWith('RF-WEAKNESS ')).querySelectorAll('rect')]"
                 ".map(r => r.getBBox().width.toFixed(1)).join(',')")


def test_feedback_report_renders_its_chart_offline(feedback_log: Path, tmp_path: Path) -> None:
    """Chromium draws a bar per rule to review (three segments each), shows every section, asks for nothing."""
    report = json.loads(_report(feedback_log, "json"))
    target = tmp_path / "feedback.html"
    _report(feedback_log, "html", target)
    page = target.read_text(encoding="utf-8")
    dom, asked = page_requests(target.as_uri(), tmp_path / "profile")
    assert asked == [] and "<script" not in dom
    assert "RF-WEAKNESS" in [row["rule"] for row in report["review_first"]]
    rects, width, height = (int(n) for n in measured(page, tmp_path, _CHART).split(","))
    assert rects == 3 * len(report["review_first"])  # accepted, overridden, ignored per rule
    assert width > 300 and height > 20 * len(report["review_first"])  # drawn, not an empty box
    accepted, overridden, ignored = (float(n) for n in measured(page, tmp_path, _WEAKNESS_BAR).split(","))
    assert overridden == pytest.approx(2 * accepted, abs=0.2) and accepted > 50 and ignored == 0
    text = rendered_text(page, tmp_path)
    for heading in ("What clinicians did with the cards", "Chart: rules to review first",
                    "Review first", "By card (triage level)", "By rule version"):
        assert heading in text, heading
    review = text.split("Review first", 1)[1].split("By card", 1)[0]
    assert "RF-WEAKNESS" in review and "clinical-judgement 1" in review and "67%" in review


def test_feedback_report_shows_log_markup_as_text(feedback_log: Path, tmp_path: Path) -> None:
    """A triage, rule id and override reason with markup in the log are text in Chromium."""
    target = tmp_path / "feedback.html"
    _report(feedback_log, "html", target)
    page = target.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold" not in page
    dom = dump_dom(target, tmp_path / "profile")
    assert "<script" not in dom and "<img" not in dom and "<b>bold" not in dom
    text = rendered_text(page, tmp_path)
    for shown in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<b>bold</b> reason"):
        assert shown in text, shown
