"""The explanation page as a clinician opens it: rendered by headless Chromium, offline, escaped.

``twitchrules explain CASE --format html`` writes the report with its explanation section.
Chromium loads it with every host but loopback unresolvable and a network log on: the page
must render its sections and ask for nothing. A ruleset whose words carry markup must show
as text. (The served copy, ``/explanations/<token>``, and the feedback report are checked
the same way in ``tests/service/test_pages_chromium.py``.)
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from twitchrules import explain

from .conftest import CASES_DIR
from .test_audit import by_id, cli, copy_starter, edit_rules
from .test_html_chromium import _command, dump_dom, measured, rendered_text

_BROWSER = "not an origin"  # the initiator Chromium's own (background) requests carry


def page_requests(url: str, profile: Path) -> tuple[str, list[str]]:
    """The DOM Chromium builds for ``url`` offline, and every URL the page itself asked for.

    Every host but loopback is unresolvable; the network log records each request with its
    initiator, and the browser's own background requests (initiator ``not an origin``, the
    navigation to ``url`` among them) are left out: what is left, the page asked for.
    """
    log = profile.with_name(profile.name + "-netlog.json")
    command = _command(profile, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                       f"--log-net-log={log}", "--virtual-time-budget=5000", "--dump-dom", url)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<body" in done.stdout, done.stderr[-2000:]
    netlog = json.loads(log.read_text(encoding="utf-8"))
    names = {number: name for name, number in netlog["constants"]["logEventTypes"].items()}
    starts = [event.get("params") or {} for event in netlog["events"]
              if names.get(event["type"]) == "URL_REQUEST_START_JOB"]
    asked = [params["url"] for params in starts
             if "url" in params and params.get("initiator") != _BROWSER]
    return done.stdout, list(dict.fromkeys(asked))


def _case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data["case"]


@pytest.fixture(scope="module")
def calf_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``twitchrules explain`` of the benign calf case, as HTML, on the bundled ruleset."""
    folder = tmp_path_factory.mktemp("explain")
    case = folder / "calf.json"
    case.write_text(json.dumps(_case("self-care-intense-exercise")), encoding="utf-8")
    target = folder / "explanation.html"
    code, out, err = cli("explain", str(case), "--format", "html", "-o", str(target))
    assert code == 0 and out == "", err
    return target


def test_the_request_check_sees_a_page_that_loads_from_elsewhere(tmp_path: Path) -> None:
    """The control: a page naming an image and a stylesheet elsewhere is caught asking for both."""
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><html><body><p>hi</p><img src="http://example.invalid/x.png">'
                    '<link rel="stylesheet" href="https://cdn.example.com/a.css"></body></html>',
                    encoding="utf-8")
    _, asked = page_requests(page.as_uri(), tmp_path / "profile")
    assert set(asked) == {"http://example.invalid/x.png", "https://cdn.example.com/a.css"}


def test_explanation_page_renders_its_sections_offline(calf_page: Path, tmp_path: Path) -> None:
    """Chromium, offline, shows why, why not and what if, and the page asks for nothing."""
    dom, asked = page_requests(calf_page.as_uri(), tmp_path / "profile")
    assert asked == []
    assert 'id="explanation"' in dom and "<script" not in dom
    text = rendered_text(calf_page.read_text(encoding="utf-8"), tmp_path)
    explanation = explain(_case("self-care-intense-exercise"))
    for heading in ("Explanation", "Why self-care", "Why not a higher level",
                    "Why not another condition", "What would change it"):
        assert heading in text, heading
    for level in explanation.why_not_levels:
        assert level.label in text
        for miss in level.nearest:
            assert miss.title in text
    assert explanation.what_if
    for item in explanation.what_if:
        assert " and ".join(change.words for change in item.changes) in text
        assert item.summary in text
    assert "muscle weakness (was: absent)" in text  # the change known by hand, in words
    assert f"stopped at its cap of {explanation.search.cap}" in text


def test_explanation_shows_ruleset_markup_as_text(tmp_path: Path) -> None:
    """A rule title with a script in it is text on the page: Chromium builds no script from it."""
    folder = copy_starter(tmp_path)
    hostile = "<script>document.title='owned'</script> Weakness & \"quoted\""
    edit_rules(folder, "20-red-flags.yaml",
               lambda rules: by_id(rules, "RF-WEAKNESS").update(title=hostile))
    case = tmp_path / "calf.json"
    case.write_text(json.dumps(_case("self-care-intense-exercise")), encoding="utf-8")
    target = tmp_path / "explanation.html"
    code, _, err = cli("explain", str(case), "--ruleset", str(folder), "--format", "html",
                       "-o", str(target))
    assert code == 0, err
    page = target.read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;" in page
    dom = dump_dom(target, tmp_path / "profile")
    assert "<script" not in dom and "owned" not in re.findall(r"<title>(.*?)</title>", dom)
    assert hostile in rendered_text(page, tmp_path)  # the why-not names the rule, as text
    assert measured(page, tmp_path, "document.scripts.length") == "1"  # the probe's own

