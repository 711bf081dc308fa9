"""Review sign-off: an append-only, hash-chained log; audit shows the latest review and staleness."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from twitchrules import load_ruleset
from twitchrules.cli import main
from twitchrules.errors import RulesetError
from twitchrules.resources import bundled_ruleset_path
from twitchrules.ruleset.audit import audit_dict
from twitchrules.ruleset.reviews import REVIEWS_FILE, read_reviews, record_review

from .conftest import ROOT, STARTER


def cli(*args: str) -> tuple[int, str]:
    """Run the CLI in process: exit code and output (stdout and stderr)."""
    done = CliRunner().invoke(main, list(args))
    return done.exit_code, done.output


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the starter ruleset folder: reviews go there, never into a bundled ruleset."""
    target = tmp_path / "starter"
    shutil.copytree(STARTER, target)
    return target


def review(folder: Path, rule_id: str, decision: str = "approve", *extra: str) -> tuple[int, str]:
    """Record one review through the CLI."""
    return cli("ruleset", "review", rule_id, "--by", "A. Reviewer", "--role", "consultant neurologist",
               "--decision", decision, "--ruleset", str(folder), *extra)


def test_bundled_ruleset_has_no_review_log() -> None:
    """Nothing is pre-filled: the bundled ruleset ships no review, every rule is unreviewed."""
    assert not (bundled_ruleset_path() / REVIEWS_FILE).exists()
    summary = audit_dict(load_ruleset())["summary"]
    assert summary["review_log"]["never_reviewed"] == summary["audited_items"]


def test_review_appends_who_when_and_the_rule_hash(folder: Path) -> None:
    """An entry names the rule's version and content hash, the reviewer, role, decision and time."""
    code, out = review(folder, "RF-WASTING", "approve", "--note", "Matches row 2 of the table.")
    assert code == 0, out
    (entry,) = read_reviews(folder / REVIEWS_FILE)
    ruleset = load_ruleset(folder)
    record = next(r for r in audit_dict(ruleset)["rules"] if r["id"] == "RF-WASTING")
    assert (entry.rule, entry.rule_version, entry.rule_sha256) == ("RF-WASTING", "1.0.0", record["sha256"])
    assert (entry.by, entry.role, entry.decision) == ("A. Reviewer", "consultant neurologist", "approve")
    assert entry.note == "Matches row 2 of the table." and entry.at.endswith("Z")
    assert entry.previous_sha256 is None
    assert ruleset.sha256 == load_ruleset(STARTER).sha256  # the log is not part of the ruleset


def test_audit_shows_latest_review_and_staleness(folder: Path) -> None:
    """The latest entry wins; after the rule changes its review is stale."""
    assert review(folder, "RF-WASTING", "reject")[0] == 0
    assert review(folder, "RF-WASTING", "approve")[0] == 0
    rules = {r["id"]: r for r in audit_dict(load_ruleset(folder))["rules"]}
    assert rules["RF-WASTING"]["latest_review"]["decision"] == "approve"
    assert rules["RF-WASTING"]["review_stale"] is False
    assert rules["RF-SPREAD"]["latest_review"] is None
    red_flags = folder / "rules" / "20-red-flags.yaml"
    red_flags.write_text(red_flags.read_text(encoding="utf-8").replace(
        "timeframe: seek immediate evaluation,", "timeframe: seek immediate medical evaluation,", 1),
        encoding="utf-8")
    audit = audit_dict(load_ruleset(folder))
    rules = {r["id"]: r for r in audit["rules"]}
    assert rules["RF-WASTING"]["review_stale"] is True
    assert audit["summary"]["review_log"]["stale"] == 1
    code, table = cli("ruleset", "audit", str(folder))
    assert code == 0 and "STALE:" in table


def test_edited_log_is_refused_by_validate_and_review(folder: Path) -> None:
    """Changing an earlier line breaks the chain: validate and a new review exit 2 naming the line."""
    assert review(folder, "RF-WASTING")[0] == 0
    assert review(folder, "RF-SPREAD")[0] == 0
    log = folder / REVIEWS_FILE
    lines = log.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["decision"] = "reject"
    log.write_text("\n".join([json.dumps(first, sort_keys=True), lines[1]]) + "\n", encoding="utf-8")
    code, out = cli("ruleset", "validate", str(folder))
    assert code == 2 and "line 2" in out and "edited" in out
    before = log.read_text(encoding="utf-8")
    code, out = review(folder, "RF-WASTING")
    assert code == 2 and log.read_text(encoding="utf-8") == before


def test_bad_review_input_writes_nothing(folder: Path) -> None:
    """An unknown rule (with a suggestion) or an empty reviewer exits 2 and writes nothing."""
    code, out = review(folder, "RF-WASTNG")
    assert code == 2 and "did you mean 'RF-WASTING'" in out
    code, out = cli("ruleset", "review", "RF-WASTING", "--by", "  ", "--role", "nurse",
                    "--decision", "approve", "--ruleset", str(folder))
    assert code == 2 and "--by" in out
    assert not (folder / REVIEWS_FILE).exists()
    with pytest.raises(RulesetError, match="reviews.jsonl"):
        single_file = ROOT / "tests" / "fixtures" / "static" / "unread-fact.yaml"
        record_review(load_ruleset(single_file), "DER-LONELY", "A", "B", "approve")
