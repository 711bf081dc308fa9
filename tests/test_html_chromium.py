"""The HTML report as a clinician sees it: rendered by a real headless Chromium, text read back.

Skipped only where Chromium is missing on a developer machine; in CI (``CI`` set) a missing
Chromium is a failure, so the test always runs there (``.ci/run`` installs Debian's package).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from twitchrules import evaluate, load_ruleset
from twitchrules.outputs.html import render_html

from .conftest import STARTER, load_example
from .test_audit import by_id, cli, copy_starter, edit_header, edit_rules

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def _chromium() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    message = f"headless Chromium not found (looked for {', '.join(CHROMIUM_NAMES)})"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must install it (apt-get install chromium)")
    pytest.skip(message + "; install it with: apt-get install -y chromium")


def dump_dom(page: Path, profile: Path) -> str:
    """Load a page in headless Chromium and return the DOM it built (after rendering)."""
    command = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--no-default-browser-check", f"--user-data-dir={profile}",
        "--dump-dom", page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<body" in done.stdout, done.stderr[-2000:]
    return done.stdout


def rendered_text(page_html: str, tmp_path: Path) -> str:
    """The page's text as Chromium renders it (``document.body.innerText``, CSS applied).

    The report forbids scripts (CSP); to read its rendered text, a copy without the CSP meta
    gets one script appended that writes ``innerText`` into an element the DOM dump shows.
    """
    readable = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", page_html)
    readable = readable.replace(
        "</body>",
        "<script>const t=document.body.innerText;const p=document.createElement('pre');"
        "p.id='__text';p.textContent=t;document.body.appendChild(p);</script></body>")
    path = tmp_path / "readable.html"
    path.write_text(readable, encoding="utf-8")
    dom = dump_dom(path, tmp_path / "profile-text")
    match = re.search(r"<pre id=\"__text\">(.*?)</pre>", dom, re.S)
    assert match, dom[-2000:]
    return html.unescape(match.group(1))


@pytest.fixture(scope="module")
def mark_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    """The report of the example 'mark' on the starter ruleset, via the CLI: html and DOM."""
    folder = tmp_path_factory.mktemp("mark")
    target = folder / "report.html"
    code, out, err = cli("evaluate", "mark.json", "--ruleset", str(STARTER), "--format", "html",
                         "-o", str(target))
    assert code == 0, err
    assert out == ""
    page_html = target.read_text(encoding="utf-8")
    return page_html, dump_dom(target, folder / "profile"), folder


def test_page_is_self_contained(mark_page: tuple[str, str, Path]) -> None:
    """The page loads nothing: no external URL, no script, a CSP that forbids both."""
    page_html, dom, _ = mark_page
    assert not re.search(r"(src|href)\s*=", page_html)
    assert "<script" not in page_html and "<script" not in dom
    assert "default-src 'none'" in page_html
    assert "<style>" in page_html


def test_chromium_renders_triage_differential_checklist_and_sources(
        mark_page: tuple[str, str, Path]) -> None:
    """Chromium's rendered text shows triage, reasons, differential, checklist and sources."""
    page_html, _, folder = mark_page
    text = rendered_text(page_html, folder)
    result = evaluate(load_example("mark.json"), ruleset=STARTER)
    assert "PROMPT" in text  # the level badge, upper-cased by the page's CSS
    assert result.triage.timeframe in text
    for reason in result.triage.reasons:
        assert reason in text
    for entry in result.differential:
        assert entry.title in text
        for finding in entry.for_:
            assert finding in text
        for test in entry.tests:
            assert test in text
    for item in result.checklist.items:
        assert item.text in text
    for rec in result.recommendations:
        assert rec.text in text
    for notice in result.notices:
        assert notice.message in text
    # each line names its rule, the rule's version and its quoted source passage
    assert ("rule RF-WEAKNESS v1.0.0 · source: Red Flags table, row 3 — Progressive weakness "
            "in affected limb") in text
    assert "Missing information" in text
    assert result.ruleset.sha256 in text


def test_chromium_sees_ruleset_markup_as_text(tmp_path: Path) -> None:
    """Markup in ruleset text is escaped: Chromium shows it as text and builds no element."""
    folder = copy_starter(tmp_path)
    edit_rules(folder, "20-red-flags.yaml", lambda rules: by_id(rules, "RF-WEAKNESS")["then"][0][
        "triage"].update(reason="<img src=x onerror=alert(1)> weak & \"quoted\""))
    edit_header(folder, lambda doc: doc["passages"][2].update(quote="<b>bold</b> quote"))
    result = evaluate(load_example("mark.json"), ruleset=folder)
    page = tmp_path / "page.html"
    page.write_text(render_html(result, load_ruleset(folder)), encoding="utf-8")
    dom = dump_dom(page, tmp_path / "profile")
    assert "<img" not in dom and "<b>bold" not in dom
    text = rendered_text(page.read_text(encoding="utf-8"), tmp_path)
    assert "<img src=x onerror=alert(1)> weak & \"quoted\"" in text
    assert "<b>bold</b> quote" in text


def test_render_refuses_a_different_ruleset(tmp_path: Path) -> None:
    """Quoting sources from a ruleset other than the result's is refused."""
    folder = copy_starter(tmp_path)
    edit_header(folder, lambda doc: doc.update(version="0.9.9"))
    result = evaluate(load_example("mark.json"), ruleset=STARTER)
    with pytest.raises(ValueError, match="not the one that produced this result"):
        render_html(result, load_ruleset(folder))


def test_without_ruleset_the_trace_names_versions_and_sources() -> None:
    """Without the ruleset the page still names each fired rule's version and source label."""
    result = evaluate(load_example("mark.json"), ruleset=STARTER)
    page = render_html(result)
    assert "rule <code>RF-WEAKNESS</code> v1.0.0 &middot; source: Red Flags table, row 3" in page
