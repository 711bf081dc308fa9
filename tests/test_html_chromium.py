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
from twitchrules.outputs.reading import read_result

from .conftest import ROOT, STARTER, load_example
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


def _command(profile: Path, *extra: str) -> list[str]:
    return [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--no-default-browser-check", f"--user-data-dir={profile}", *extra,
    ]


def dump_dom(page: Path, profile: Path, width: int | None = None) -> str:
    """Load a page in headless Chromium and return the DOM it built (after rendering)."""
    size = [f"--window-size={width},900"] if width else []
    command = _command(profile, *size, "--dump-dom", page.as_uri())
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<body" in done.stdout, done.stderr[-2000:]
    return done.stdout


def measured(page_html: str, tmp_path: Path, expression: str, *, open_details: bool = False,
             width: int | None = None) -> str:
    """The value of a JavaScript ``expression`` on the page as Chromium renders it.

    The report forbids scripts (CSP); to measure it, a copy without the CSP meta gets one
    script appended that writes the value into an element the DOM dump shows.
    """
    readable = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", page_html)
    opening = "document.querySelectorAll('details').forEach(d=>d.open=true);" if open_details else ""
    readable = readable.replace(
        "</body>",
        f"<script>{opening}const t=String({expression});const p=document.createElement('pre');"
        "p.id='__text';p.textContent=t;document.body.appendChild(p);</script></body>")
    path = tmp_path / "readable.html"
    path.write_text(readable, encoding="utf-8")
    dom = dump_dom(path, tmp_path / f"profile-measure-{width}", width)
    match = re.search(r"<pre id=\"__text\">(.*?)</pre>", dom, re.S)
    assert match, dom[-2000:]
    return html.unescape(match.group(1))


def rendered_text(page_html: str, tmp_path: Path, *, open_details: bool = False) -> str:
    """The page's text as Chromium renders it (``document.body.innerText``, CSS applied)."""
    return measured(page_html, tmp_path, "document.body.innerText", open_details=open_details)


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
    reading = read_result(result, load_ruleset(STARTER))
    assert "PROMPT" in text  # the level badge, upper-cased by the page's CSS
    assert result.triage.timeframe in text
    for reason in result.triage.reasons:
        assert reason in text
    for entry in reading.differential:
        assert entry.title in text and entry.support in text
        assert entry.supported_by in text
        for test in entry.tests:
            assert test in text
    for item in result.checklist.items:
        assert item.text in text
    for rec in result.recommendations:
        assert rec.text in text
    for notice in result.notices:
        assert notice.message in text
    for group in reading.questions:
        assert group.heading in text
        for question in group.questions:
            assert question.text in text
    assert "Questions to ask" in text
    assert result.ruleset.sha256 in text
    # opened, each line's fold-out names its rule, the rule's version and its quoted source
    opened = rendered_text(page_html, folder, open_details=True)
    assert ("rule RF-WEAKNESS v1.0.0 · source: Red Flags table, row 3 — Progressive weakness "
            "in affected limb") in opened


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
    text = rendered_text(page.read_text(encoding="utf-8"), tmp_path, open_details=True)
    assert "<img src=x onerror=alert(1)> weak & \"quoted\"" in text
    assert "<b>bold</b> quote" in text


def test_render_refuses_a_different_ruleset(tmp_path: Path) -> None:
    """Quoting sources from a ruleset other than the result's is refused."""
    folder = copy_starter(tmp_path)
    edit_header(folder, lambda doc: doc.update(version="0.9.9"))
    result = evaluate(load_example("mark.json"), ruleset=STARTER)
    with pytest.raises(ValueError, match="not the one that produced this result"):
        render_html(result, load_ruleset(folder))


def test_without_ruleset_the_page_finds_the_bundled_one_or_says_what_it_needs() -> None:
    """Without a ruleset a bundled result finds its words by hash; another ruleset's is refused."""
    result = evaluate(load_example("mark.json"))
    page = render_html(result)
    assert "rule <code>RF-WEAKNESS</code> v1.1.0 &middot; source: Quotation of Dr. Lena Torres" in page
    with pytest.raises(ValueError, match="pass the ruleset that produced this result"):
        render_html(evaluate(load_example("mark.json"), ruleset=STARTER))


ARTIFACTS = ROOT / "build" / "test-artifacts"
"""Screenshots the tests keep for a person to look at (``build/`` is ignored by git)."""


@pytest.fixture(scope="module")
def bundled_mark_page() -> str:
    """Mark's report on the bundled ruleset."""
    return render_html(evaluate(load_example("mark.json")), load_ruleset())


def framed(page_html: str, width: int, height: int) -> str:
    """A host page showing ``page_html`` in a frame ``width`` px wide (headless Chromium's
    window is at least 500 px wide, so a phone's width is a frame's) that, once the frame
    has loaded, writes the frame's client and scroll widths where the DOM dump shows them."""
    return (f'<!DOCTYPE html><html><body style="margin:0"><iframe id="f" width="{width}" '
            f'height="{height}" style="border:0" srcdoc="{html.escape(page_html, quote=True)}">'
            "</iframe><script>document.getElementById('f').addEventListener('load',function(){"
            "const d=this.contentDocument.documentElement;const o=document.createElement('pre');"
            "o.id='__widths';o.textContent=d.clientWidth+' '+d.scrollWidth;"
            "document.body.appendChild(o);});</script></body></html>")


@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "desktop"])
def test_report_reads_at_phone_and_desktop_width(bundled_mark_page: str, tmp_path: Path,
                                                 width: int) -> None:
    """At a phone's width nothing scrolls sideways; a screenshot of each width is kept."""
    host = tmp_path / "host.html"
    host.write_text(framed(bundled_mark_page, width, 2400), encoding="utf-8")
    dom = dump_dom(host, tmp_path / "profile-widths", width + 40)
    match = re.search(r'<pre id="__widths">(\d+) (\d+)</pre>', dom)
    assert match, dom[-2000:]
    client, scroll = int(match.group(1)), int(match.group(2))
    assert client > width - 40  # the frame really is this wide
    assert scroll <= client, f"{scroll - client}px of sideways scrolling at {width}px"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"report-mark-{width}px.png"
    shot.unlink(missing_ok=True)
    done = subprocess.run(
        _command(tmp_path / "profile-shot", "--hide-scrollbars", f"--window-size={width + 40},2400",
                 f"--screenshot={shot}", host.as_uri()),
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_width_check_sees_a_page_too_wide_for_a_phone(bundled_mark_page: str,
                                                          tmp_path: Path) -> None:
    """Without the page's narrow-screen layout its tables would scroll sideways at 390 px."""
    wide = bundled_mark_page.replace("@media (max-width:40rem)", "@media (max-width:1px)")
    host = tmp_path / "host.html"
    host.write_text(framed(wide, 390, 900), encoding="utf-8")
    match = re.search(r'<pre id="__widths">(\d+) (\d+)</pre>',
                      dump_dom(host, tmp_path / "profile-wide", 430))
    assert match and int(match.group(2)) > int(match.group(1))
