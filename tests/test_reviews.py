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
from twitchrules.ruleset.reviews import REVIEWS_FILE, REVIEWS_HEAD_FILE, entry_sha256, read_reviews, record_review

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


def _two_reviews(folder: Path) -> tuple[Path, list[str]]:
    """A log of two entries (approve RF-WASTING, reject RF-SPREAD); the log and its lines."""
    assert review(folder, "RF-WASTING")[0] == 0
    assert review(folder, "RF-SPREAD", "reject")[0] == 0
    log = folder / REVIEWS_FILE
    code, out = cli("ruleset", "validate", str(folder))
    assert code == 0 and "review log intact (2 entries)" in out, out
    return log, log.read_text(encoding="utf-8").splitlines()


def _refused(folder: Path, log: Path, *named: str) -> None:
    """validate exits 2 naming every text of ``named``; a new review is refused and writes nothing."""
    code, out = cli("ruleset", "validate", str(folder))
    assert code == 2 and all(text in out for text in named), out
    before = log.read_bytes() if log.exists() else None
    code, out = review(folder, "RF-WASTING")
    assert code == 2, out
    assert (log.read_bytes() if log.exists() else None) == before


@pytest.mark.parametrize("line", [0, 1])
def test_an_edited_entry_is_refused_by_validate_and_review(folder: Path, line: int) -> None:
    """Changing any entry, the last one too, breaks its own seal: validate names its line, exit 2."""
    log, lines = _two_reviews(folder)
    entry = json.loads(lines[line])
    entry["decision"] = "approve" if entry["decision"] == "reject" else "reject"
    lines[line] = json.dumps(entry, sort_keys=True)
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _refused(folder, log, f"line {line + 1}", "does not match its own sha256", "edited")


def test_a_resealed_last_entry_is_refused_by_the_head(folder: Path) -> None:
    """An edited last entry whose sha256 is recomputed is still not the one the head records."""
    log, lines = _two_reviews(folder)
    entry = json.loads(lines[1])
    entry["decision"] = "approve"
    entry["sha256"] = entry_sha256(entry)
    lines[1] = json.dumps(entry, sort_keys=True)
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _refused(folder, log, "line 2", "reviews.head.json records", "replaced")


def test_a_removed_entry_is_refused(folder: Path) -> None:
    """Removing the first entry breaks the chain; removing the last, or all, falls short of the head."""
    log, lines = _two_reviews(folder)
    log.write_text(lines[1] + "\n", encoding="utf-8")
    _refused(folder, log, "line 1", "previous_sha256 differs")
    log.write_text(lines[0] + "\n", encoding="utf-8")
    _refused(folder, log, "line 2", "is missing", "records 2 entries, the log holds 1")
    log.unlink()
    _refused(folder, log, "reviews.jsonl: line 1", "is missing")


def test_an_entry_appended_by_hand_or_a_missing_head_is_refused(folder: Path) -> None:
    """A sealed entry the head does not record, or a log without its head, is refused."""
    log, lines = _two_reviews(folder)
    (folder / REVIEWS_HEAD_FILE).write_text(json.dumps({"entries": 1, "sha256": json.loads(lines[0])["sha256"]}),
                                             encoding="utf-8")
    _refused(folder, log, "line 2", "comes after the last entry reviews.head.json records")
    (folder / REVIEWS_HEAD_FILE).unlink()
    _refused(folder, log, "reviews.head.json", "is missing while reviews.jsonl holds 2 entries")


def test_each_entry_seals_its_content_and_chains_to_the_one_before(folder: Path) -> None:
    """An entry's sha256 is that of its other fields; previous_sha256 is the entry before's; the head the last."""
    log, lines = _two_reviews(folder)
    first, second = (json.loads(line) for line in lines)
    assert first["sha256"] == entry_sha256(first) and second["sha256"] == entry_sha256(second)
    assert (first["previous_sha256"], second["previous_sha256"]) == (None, first["sha256"])
    head = json.loads((folder / REVIEWS_HEAD_FILE).read_text(encoding="utf-8"))
    assert head == {"entries": 2, "sha256": second["sha256"]}
    assert load_ruleset(folder).sha256 == load_ruleset(STARTER).sha256  # neither file is part of the ruleset


def test_a_log_of_the_earlier_format_is_named(folder: Path) -> None:
    """An entry without a sha256 of its own (the earlier format) is refused with that reason."""
    log, lines = _two_reviews(folder)
    entry = json.loads(lines[0])
    del entry["sha256"]
    log.write_text(json.dumps(entry, sort_keys=True) + "\n", encoding="utf-8")
    _refused(folder, log, "line 1", "earlier log format")


def test_bad_review_input_writes_nothing(folder: Path) -> None:
    """An unknown rule (with a suggestion) or an empty reviewer exits 2 and writes nothing."""
    code, out = review(folder, "RF-WASTNG")
    assert code == 2 and "did you mean 'RF-WASTING'" in out
    code, out = cli("ruleset", "review", "RF-WASTING", "--by", "  ", "--role", "nurse",
                    "--decision", "approve", "--ruleset", str(folder))
    assert code == 2 and "--by" in out
    assert not (folder / REVIEWS_FILE).exists() and not (folder / REVIEWS_HEAD_FILE).exists()
    with pytest.raises(RulesetError, match="reviews.jsonl"):
        single_file = ROOT / "tests" / "fixtures" / "static" / "unread-fact.yaml"
        record_review(load_ruleset(single_file), "DER-LONELY", "A", "B", "approve")
