"""Every shell command and Python snippet of README.md and docs/*.md runs as written.

Each page's ``sh`` and ``python`` blocks run in page order on a fresh copy of the
repository (tests/docs_blocks.py says how; docs/contributing.md is the convention).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .docs_blocks import (
    MARKER_KINDS,
    PAGES,
    ROOT,
    Outcome,
    blocks_of,
    problems,
)

BLOCKS = {page: blocks_of(page) for page in PAGES}
RUN_PAGES = [page for page, blocks in BLOCKS.items()
             if any(b.runs and b.marker != "fresh-clone" for b in blocks)]


def test_every_fence_follows_the_convention() -> None:
    """Every fence names a known language; every marker is known, complete and on a run block."""
    bad = [f"{block.where}: {problem}" for blocks in BLOCKS.values() for block in blocks
           for problem in problems(block)]
    assert bad == []


def test_the_convention_is_documented() -> None:
    """The contributing page names every marker the test knows."""
    text = (ROOT / "docs" / "contributing.md").read_text(encoding="utf-8")
    for kind in MARKER_KINDS:
        assert f"<!-- docs-test: {kind}" in text, kind


def test_every_illustration_says_why() -> None:
    """No block is left out silently: each illustration carries its reason."""
    shown = [b for blocks in BLOCKS.values() for b in blocks if b.marker == "illustration"]
    assert all(len(b.argument.split()) >= 3 for b in shown), [b.where for b in shown]


def test_readme_install_line_runs_in_a_fresh_clone(readme_install: tuple[Path, Outcome]) -> None:
    """The README's first line installs twitchrules in a new venv and evaluates the example."""
    workdir, outcome = readme_install
    assert outcome.status == 0, outcome.report()
    assert "Muscle twitching triage" in outcome.stdout or "triage" in outcome.stdout.lower()
    assert (workdir / ".venv" / "bin" / "twitchrules").is_file()


@pytest.mark.parametrize("page", RUN_PAGES, ids=[p.relative_to(ROOT).as_posix() for p in RUN_PAGES])
def test_page_commands_run_as_written(page: Path, docs_runs: dict[Any, Any]) -> None:
    """Every run block of the page, in order, on a fresh copy, ends with the status it should."""
    outcomes: list[Outcome] = docs_runs[page].result()[0]
    for outcome in outcomes:
        expected = int(outcome.block.argument) if outcome.block.marker == "exit" else 0
        assert outcome.status == expected, outcome.report()
    assert [o.block for o in outcomes] == [b for b in BLOCKS[page] if b.runs and b.marker != "fresh-clone"]


def test_what_the_docs_write_is_ignored_by_git(docs_runs: dict[Any, Any]) -> None:
    """A reader who runs the docs in a checkout is left with a clean `git status`."""
    written = sorted({name for page in RUN_PAGES for name in docs_runs[page].result()[1]})
    assert written, "the docs' commands write files (reports, results): the test should see them"
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(written),
                             capture_output=True, text=True, check=False)
    if ignored.returncode == 128:
        pytest.fail(f"git check-ignore failed: {ignored.stderr}")
    assert sorted(set(written) - set(ignored.stdout.split())) == [], "add them to .gitignore"


def summary() -> dict[str, Any]:
    """Counts of blocks found, run and shown as illustrations (for the docs and reports)."""
    every = [b for blocks in BLOCKS.values() for b in blocks]
    commands = [b for b in every if b.language in ("sh", "bash", "shell", "python")]
    return {"blocks": len(every), "commands_and_snippets": len(commands),
            "run": sum(b.runs for b in commands),
            "illustrations": {b.where: b.argument for b in commands if b.marker == "illustration"}}


def _shortened(example: Any, real: Any) -> bool:
    """True when ``example`` is ``real`` cut short: fewer list entries, ``"..."`` for long text."""
    if example in ("...", "<64 hex>"):
        return True
    if isinstance(example, dict):
        return isinstance(real, dict) and all(
            key == "..." or (key in real and _shortened(value, real[key])) for key, value in example.items())
    if isinstance(example, list):
        return isinstance(real, list) and all(any(_shortened(e, r) for r in real) for e in example)
    return bool(example == real)


def test_contract_result_example_is_marks_real_result_shortened() -> None:
    """The contract page's result example is today's result for examples/mark.json, cut short."""
    from twitchrules import evaluate

    page = ROOT / "docs" / "contract.md"
    (example,) = [json.loads(b.code) for b in BLOCKS[page]
                  if b.language == "json" and '"contract_version"' in b.code and '"triage"' in b.code]
    real = json.loads(evaluate(json.loads((ROOT / "examples" / "mark.json").read_text(encoding="utf-8")))
                      .to_json())
    assert example["engine"]["name"] in ("durable-rules", "clips")
    example.pop("engine"), real.pop("engine")  # the engine depends on the Python (3.13+: CLIPS)
    # The ruleset version: today's or a released one (the page need not change with each release).
    lock = json.loads((ROOT / "rulesets" / "twitching.lock.json").read_text(encoding="utf-8"))
    shown = example.pop("ruleset")
    assert shown["name"] == real["ruleset"]["name"]
    assert shown["version"] in {real["ruleset"]["version"], *lock["ruleset_versions"]}, shown
    real.pop("ruleset")
    assert _shortened(example, real), json.dumps(example, indent=1)[:3000]
    assert not _shortened({"rules": ["RF-WEAK"]}, {"rules": ["RF-WEAKNESS"]})


_LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def test_every_link_resolves_in_the_checkout() -> None:
    """Every relative link of README.md and docs/ names a file of the checkout; nothing names shared/."""
    broken: list[str] = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for target in _LINK.findall(text):
            if re.match(r"^(?:[a-z]+:|#)", target):
                continue
            path = target.split("#", 1)[0]
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
        if "shared/" in text:
            broken.append(f"{page.relative_to(ROOT)}: names shared/, which the checkout does not have")
    assert broken == []
