"""docs/audit.md is the auditor's guide: it shows each step an audit takes as a command that runs.

That every ``sh`` block of the page runs on a fresh clone is proved for all pages by
``tests/test_docs_commands.py``; this checks the page holds the auditor's steps.
"""

from __future__ import annotations

import re

from twitchrules import load_ruleset
from twitchrules.ruleset.audit import count_text

from .conftest import CASES_DIR, ROOT

GUIDE = ROOT / "docs" / "audit.md"


def test_the_guide_runs_each_step_of_an_audit() -> None:
    """Reproduce a decision, diff releases, tests with coverage, static checks, the pack, export, audit."""
    text = GUIDE.read_text(encoding="utf-8")
    run = " | ".join(re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M))
    for step in ("twitchrules verify", "ruleset diff twitching@", "ruleset test --coverage",
                 "ruleset validate", "--kind hti1", "--kind trace", "--kind basis",
                 "ruleset export-tests", "ruleset audit"):
        assert step in run, step
    assert "twitchrules ruleset review" in text and "git worktree" not in text


def test_the_guide_quotes_the_counts_validate_prints() -> None:
    """The rule count the guide shows from `ruleset validate` is the one it prints for the bundled ruleset."""
    text = GUIDE.read_text(encoding="utf-8")
    assert f"(`{count_text(load_ruleset())}`" in text


def test_the_docs_name_where_the_case_files_are_and_how_many() -> None:
    """README and docs/clinical-rules.md point at rulesets/twitching/tests/ and count its case files."""
    count = len(list(CASES_DIR.glob("*.json")))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rules_page = (ROOT / "docs" / "clinical-rules.md").read_text(encoding="utf-8")
    assert f"the {count} case files in `rulesets/twitching/tests/`" in readme
    assert f"`rulesets/twitching/tests/*.json`: {count} cases" in rules_page
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        assert "tests/cases" not in page.read_text(encoding="utf-8"), page
