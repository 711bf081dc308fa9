"""ruleset test: a ruleset's own case files run, each failure shown expected against actual, with coverage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from twitchrules import load_ruleset
from twitchrules.resources import bundled_ruleset_path
from twitchrules.ruleset.coverage import RuleCoverage, coverage_of, render_coverage
from twitchrules.verify.suite import run_ruleset_tests

from .test_audit import cli, edit_rules

BUNDLED = bundled_ruleset_path()


def bundled_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled ruleset folder (its archive left out)."""
    target = tmp_path / "twitching"
    shutil.copytree(BUNDLED, target, ignore=shutil.ignore_patterns("releases"))
    return target


def _case_file(folder: Path, name: str) -> Path:
    return folder / "tests" / f"{name}.json"


def test_the_bundled_ruleset_passes_its_own_tests() -> None:
    """`ruleset test` on the bundled ruleset runs every case file and exits 0."""
    code, out, err = cli("ruleset", "test")
    assert code == 0, out + err
    count = len(list((BUNDLED / "tests").glob("*.json")))
    assert f"{count} passed, 0 failed" in out


def test_a_failing_case_shows_expected_against_actual(tmp_path: Path) -> None:
    """A case file expecting what the ruleset does not give fails (exit 1) with both sides shown."""
    folder = bundled_copy(tmp_path)
    path = _case_file(folder, "mark-full-history")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["expect"]["triage"] = "urgent"
    data["expect"]["notices_include"] = ["no-such-notice"]
    path.write_text(json.dumps(data), encoding="utf-8")
    code, out, _ = cli("ruleset", "test", str(folder))
    assert code == 1
    assert "FAIL mark-full-history:" in out
    assert "triage is prompt, expected urgent" in out
    assert "notices lacks no-such-notice" in out
    assert '"triage": "urgent"' in out  # expected
    assert "    triage: prompt (" in out and "    differential: mmn" in out  # actual
    assert "1 failed" in out


def test_min_coverage_fails_and_names_never_fired_rules(tmp_path: Path) -> None:
    """Without the only case that fires a rule, --min-coverage 100 fails naming the rule and title."""
    folder = bundled_copy(tmp_path)
    report = run_ruleset_tests(folder)
    only = [rule_id for rule_id, count in report.coverage.counts.items()
            if count == 1 and rule_id != "TRIAGE-DEFAULT"]
    rule_id = only[0]
    (case_id,) = report.coverage.examples[rule_id]
    _case_file(folder, case_id).unlink()
    code, out, err = cli("ruleset", "test", str(folder), "--min-coverage", "100")
    assert code == 1
    title = load_ruleset(folder).rule(rule_id).title
    assert rule_id in out and title in out
    assert "is below --min-coverage 100%" in err
    code, out, _ = cli("ruleset", "test", str(folder), "--coverage", "--format", "json")
    assert code == 0
    coverage = json.loads(out)
    assert {"id": rule_id, "title": title} in coverage["never_fired"]
    assert coverage["coverage_percent"] < 100


def test_coverage_json_is_alone_on_stdout(tmp_path: Path) -> None:
    """With --format json, stdout is one JSON document; the summary and any failure go to stderr."""
    folder = bundled_copy(tmp_path)
    code, out, err = cli("ruleset", "test", str(folder), "--coverage", "--format", "json")
    assert code == 0 and json.loads(out)["coverage_percent"] == 100
    assert " passed, 0 failed" in err and "passed" not in out
    code, out, _ = cli("ruleset", "test", str(folder), "--format", "json")  # json implies --coverage
    assert code == 0 and "never_fired" in json.loads(out)
    path = _case_file(folder, "mark-full-history")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["expect"]["triage"] = "self-care" if data["expect"]["triage"] != "self-care" else "urgent"
    path.write_text(json.dumps(data), encoding="utf-8")
    code, out, err = cli("ruleset", "test", str(folder), "--min-coverage", "100", "--format", "json")
    assert code == 1 and "mark-full-history" in err and "1 failed" in err
    json.loads(out)


def test_a_bad_case_file_is_exit_2_naming_file_and_field(tmp_path: Path) -> None:
    """A case file with an unknown expect key, or a case breaking the contract, is exit 2 by name."""
    folder = bundled_copy(tmp_path)
    path = _case_file(folder, "mark-full-history")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["expect"]["triage_is"] = "prompt"
    path.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = cli("ruleset", "test", str(folder))
    assert code == 2 and "mark-full-history.json: expect.triage_is: is not a known expect key" in err
    del data["expect"]["triage_is"]
    data["case"]["patient"]["age"] = -1
    path.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = cli("ruleset", "test", str(folder))
    assert code == 2 and "mark-full-history.json: case.patient.age" in err


def test_a_released_version_runs_its_archived_tests() -> None:
    """twitching@1.0.0 runs the case files archived with it, on the archived rules."""
    report = run_ruleset_tests("twitching@1.0.0")
    assert report.ruleset.version == "1.0.0"
    assert report.folder == BUNDLED / "releases" / "1.0.0" / "tests"
    assert not report.failures


def test_coverage_counts_rules_from_traces(tmp_path: Path) -> None:
    """Coverage from results counts each fired rule once per result and lists the others."""
    folder = bundled_copy(tmp_path)
    edit_rules(folder, "70-notices.yaml", lambda rules: None)
    ruleset = load_ruleset(folder)
    results = [{"trace": [{"rule": "RF-WEAKNESS"}, {"rule": "RF-WEAKNESS"}, {"rule": "NOT-A-RULE"}]},
               {"trace": [{"rule": "RF-WEAKNESS"}, {"rule": "TRIAGE-DEFAULT"}]}]
    coverage = coverage_of(ruleset, results)
    assert coverage.counts["RF-WEAKNESS"] == 2 and coverage.counts["TRIAGE-DEFAULT"] == 1
    assert coverage.unknown == {"NOT-A-RULE": 1}
    assert len(coverage.never_fired) == len(ruleset.rules) - 1
    assert round(coverage.share, 6) == round(100 * 2 / (len(ruleset.rules) + 1), 6)
    text = render_coverage(coverage)
    assert text.startswith(f"coverage: 2 of {len(ruleset.rules) + 1} rules fired")
    assert "NOT-A-RULE" in text
    empty = RuleCoverage.of(ruleset)
    assert empty.share == 0 and empty.evaluations == 0
