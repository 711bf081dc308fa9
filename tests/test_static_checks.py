"""Static checks at validate, lock and release time: each check fires on its broken-ruleset fixture."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from twitchrules import load_ruleset
from twitchrules.cli import main
from twitchrules.resources import bundled_ruleset_path
from twitchrules.ruleset.lock import lock_ruleset
from twitchrules.ruleset.statics import CHECKS, StaticCheckError, check_ruleset

from .conftest import ROOT

EXE = shutil.which("twitchrules") or str(Path(sys.executable).parent / "twitchrules")
FIXTURES = ROOT / "tests" / "fixtures" / "static"


def validate_json(path: Path) -> tuple[int, dict[str, object]]:
    """Run ``ruleset validate --format json`` on ``path`` (in process): exit code and the report."""
    done = CliRunner().invoke(main, ["ruleset", "validate", str(path), "--format", "json"])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, json.loads(done.stdout)


def findings(path: Path, check: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The (rules, facts) of every finding of ``check`` on the ruleset at ``path``."""
    report = check_ruleset(load_ruleset(path))
    return [(f.rules, f.facts) for f in report.findings if f.check == check]


def test_every_check_has_a_fixture() -> None:
    """Each static check has a broken-ruleset fixture named after it."""
    assert sorted(p.stem for p in FIXTURES.glob("*.yaml")) == sorted(CHECKS)


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_fixture_fires_its_check_through_validate(check: str) -> None:
    """validate reports the fixture's check; an error exits 2, a warning is listed with exit 0."""
    code, report = validate_json(FIXTURES / f"{check}.yaml")
    counts = report["counts"]
    assert isinstance(counts, dict) and counts[check] >= 1
    assert code == (2 if CHECKS[check][0] == "error" else 0)


def test_unprovided_fact_names_reader_and_fact() -> None:
    """A derived fact whose only producer cannot fire is reported at the rule that reads it."""
    assert findings(FIXTURES / "unprovided-fact.yaml", "unprovided-fact") == [
        (("RF-READER",), ("ghost_weakness",))]


def test_never_fires_finds_numbers_and_qualifiers() -> None:
    """Disjoint number bounds and a qualifier against its false parent both make a rule dead."""
    assert findings(FIXTURES / "never-fires.yaml", "never-fires") == [
        (("RF-NUMBERS",), ("duration_days",)), (("RF-QUALIFIER",), ("weakness_progressive",))]


def test_cycle_names_both_facts() -> None:
    """Two derived facts that need each other are one cycle."""
    assert findings(FIXTURES / "cycle.yaml", "cycle") == [
        (("DER-LOOP-A", "DER-LOOP-B"), ("loop_a", "loop_b"))]


def test_unread_fact() -> None:
    """A derived fact nothing reads is named with its producer."""
    assert findings(FIXTURES / "unread-fact.yaml", "unread-fact") == [(("DER-LONELY",), ("lonely_fact",))]


def test_pre_empted_triage_and_advice() -> None:
    """Outranked triage, advice capped below its own triage, advice its condition withholds (derived too)."""
    found = findings(FIXTURES / "pre-empted.yaml", "pre-empted")
    assert [rules for rules, _ in found] == [("RF-WEAK-NUMB", "RF-WEAK"), ("RF-WEAK-NUMB",), ("ADV-UNLESS",),
                                             ("ADV-DERIVED-ALWAYS",)]


def test_subsumed_is_directional() -> None:
    """The narrow rule is subsumed by the broad one, not the other way round."""
    assert [rules for rules, _ in findings(FIXTURES / "subsumed.yaml", "subsumed")] == [
        ("RF-NARROW", "RF-BROAD")]


def test_conflict_only_when_rules_can_fire_together() -> None:
    """Advice and triage worded differently conflict; disjoint durations with two notices do not."""
    found = findings(FIXTURES / "conflict.yaml", "conflict")
    assert [rules for rules, _ in found] == [("RF-WEAK", "RF-NUMB"), ("RF-WEAK", "RF-NUMB")]


def test_lock_refuses_static_errors(tmp_path: Path) -> None:
    """A lock of a ruleset with a static error writes nothing and names the rule."""
    target = tmp_path / "never.yaml"
    shutil.copyfile(FIXTURES / "never-fires.yaml", target)
    (tmp_path / "CHANGELOG.md").write_text("## 0.0.1\n", encoding="utf-8")
    with pytest.raises(StaticCheckError, match="RF-NUMBERS can never fire"):
        lock_ruleset(load_ruleset(target))
    assert not (tmp_path / "never.lock.json").exists()
    done = subprocess.run([EXE, "ruleset", "lock", str(target)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "never-fires" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "never.lock.json").exists()


def test_lock_accepts_warnings(tmp_path: Path) -> None:
    """Warnings do not block a lock."""
    target = tmp_path / "unread.yaml"
    shutil.copyfile(FIXTURES / "unread-fact.yaml", target)
    (tmp_path / "CHANGELOG.md").write_text("## 0.0.1\n", encoding="utf-8")
    assert lock_ruleset(load_ruleset(target))


def test_bundled_ruleset_has_no_static_errors() -> None:
    """The bundled ruleset passes validate: no static error (its warnings are listed, not fatal)."""
    code, report = validate_json(bundled_ruleset_path())
    assert code == 0
    counts = report["counts"]
    assert isinstance(counts, dict)
    assert all(counts[check] == 0 for check, (severity, _) in CHECKS.items() if severity == "error")
