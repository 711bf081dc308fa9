"""The documentation site: `mkdocs build --strict` passes and the generated pages are complete."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from twitchrules import load_ruleset
from twitchrules.ruleset.audit import render_markdown

from .conftest import ROOT, STARTER


def _require_mkdocs() -> None:
    try:
        import mkdocs  # noqa: F401
        import mkdocstrings  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("mkdocs and mkdocstrings must be installed in CI (the 'docs' extra)")
        pytest.skip("install the docs extra: pip install -e '.[docs]'")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built with `mkdocs build --strict` into a temporary folder."""
    _require_mkdocs()
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(target)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return target


def _text(page: Path) -> str:
    return re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))


def test_strict_build_has_every_page(site: Path) -> None:
    """Every nav page is built: start, contract, rule language, rules, audit, safety, API."""
    for page in ("getting-started", "contract", "rule-language", "rules-reference", "audit",
                 "safety", "api", "regulatory-hti1", "regulatory-trace", "regulatory-basis"):
        assert (site / page / "index.html").is_file(), page


def test_rules_reference_lists_every_bundled_rule(site: Path) -> None:
    """The generated rules reference names every rule of the bundled ruleset with its version."""
    ruleset = load_ruleset()
    text = _text(site / "rules-reference" / "index.html")
    assert f"{ruleset.name} {ruleset.version}" in text
    assert ruleset.sha256 in text
    for rule in ruleset.rules:
        assert rule.id in text, rule.id


def test_api_reference_is_generated_from_docstrings(site: Path) -> None:
    """The API page carries the docstrings of the public API (mkdocstrings ran)."""
    text = _text(site / "api" / "index.html")
    for name in ("evaluate", "load_ruleset", "Result", "RulesetError", "guidance_response"):
        assert name in text, name
    assert "Evaluate one case and return its traced result." in text


def test_every_docs_page_is_in_the_nav() -> None:
    """No page under docs/ is left out of the nav (a new page must be linked)."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    in_nav = {next(iter(entry.values())) for entry in config["nav"]}
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert on_disk - in_nav == set(), "add these pages to mkdocs.yml nav"
    generated = {"rules-reference.md", "regulatory-hti1.md", "regulatory-trace.md",
                 "regulatory-basis.md"}  # written at build time by docs/_hooks/
    assert in_nav - on_disk == generated


def test_rules_reference_markdown_names_provenance() -> None:
    """The generated Markdown quotes passages and states review status for every rule."""
    ruleset = load_ruleset(STARTER)
    text = render_markdown(ruleset)
    for rule in ruleset.rules:
        assert f"## {rule.id}" in text
    assert text.count("- **Review status:** draft; reviewer: none") == len(ruleset.rules) + 1
    assert "> Twitching with visible muscle wasting" in text
