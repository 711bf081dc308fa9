"""docs/audit.md is the auditor's guide: it shows each step an audit takes as a command that runs.

That every ``sh`` block of the page runs on a fresh clone is proved for all pages by
``tests/test_docs_commands.py``; this checks the page holds the auditor's steps.
"""

from __future__ import annotations

import re

from .conftest import ROOT

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
