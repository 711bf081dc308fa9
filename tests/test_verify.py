"""verify: a past decision is re-run on the ruleset and engine it names and compared field by field."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from twitchrules import evaluate
from twitchrules.engine import default_engine

from .conftest import EXAMPLES, base_case, load_example
from .test_audit import cli

MARK = EXAMPLES / "mark.json"


def _result_file(tmp_path: Path, result: dict[str, Any], name: str = "result.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return path


def _evaluated(tmp_path: Path, *extra: str) -> Path:
    """The result file `twitchrules evaluate --format json` writes for Mark's case."""
    out = tmp_path / "result.json"
    code, _, err = cli("evaluate", str(MARK), "--format", "json", "-o", str(out), *extra)
    assert code == 0, err
    return out


def test_a_fresh_result_is_reproduced_exactly(tmp_path: Path) -> None:
    """A result written by evaluate verifies with exit 0, naming the ruleset and every compared part."""
    code, out, err = cli("verify", str(_evaluated(tmp_path)), str(MARK))
    assert code == 0, out + err
    assert out.startswith("REPRODUCED exactly on ruleset twitching")
    assert "note:" not in out  # same package, contract and engine: nothing to report
    for part in ("triage", "differential", "recommendations", "checklist", "missing_information",
                 "notices", "trace"):
        assert part in out


def test_a_result_of_an_older_release_is_reproduced_on_that_release(tmp_path: Path) -> None:
    """A result made with twitching@1.0.0 is re-run on the archived 1.0.0 (found by its sha256)."""
    path = _evaluated(tmp_path, "--ruleset", "twitching@1.0.0")
    code, out, _ = cli("verify", str(path), str(MARK), "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["status"] == "reproduced"
    assert report["ruleset"]["version"] == "1.0.0"
    assert report["ruleset"]["sha256"] == json.loads(path.read_text())["ruleset"]["sha256"]


def test_a_changed_decision_is_listed_field_by_field(tmp_path: Path) -> None:
    """A recorded triage and a dropped recommendation that the ruleset does not give are exit 1, by field."""
    recorded = json.loads(_evaluated(tmp_path).read_text())
    actual_level = recorded["triage"]["level"]
    recorded["triage"]["level"] = "self-care"
    dropped = recorded["recommendations"].pop(0)
    code, out, _ = cli("verify", str(_result_file(tmp_path, recorded)), str(MARK))
    assert code == 1
    assert out.startswith("DIFFERS on ruleset twitching")
    assert f"triage.level: recorded 'self-care', now '{actual_level}'" in out
    assert "recommendations[0].id" in out and dropped["id"] in out


def test_the_same_result_on_another_case_differs(tmp_path: Path) -> None:
    """Verifying a result against a case it was not made from fails (the trace's matched facts differ)."""
    other = tmp_path / "other.json"
    case = load_example("mark.json")
    case["findings"]["caffeine_mg_per_day"] = 100
    other.write_text(json.dumps(case), encoding="utf-8")
    code, out, _ = cli("verify", str(_evaluated(tmp_path)), str(other))
    assert code == 1
    assert "caffeine_mg_per_day" in out


def test_an_unknown_ruleset_sha256_is_not_in_the_archive(tmp_path: Path) -> None:
    """A result naming a sha256 no release has exits 1 with 'ruleset sha256 not in the archive'."""
    recorded = json.loads(_evaluated(tmp_path).read_text())
    recorded["ruleset"]["sha256"] = "0" * 64
    code, out, _ = cli("verify", str(_result_file(tmp_path, recorded)), str(MARK))
    assert code == 1
    assert "ruleset sha256 not in the archive" in out


def test_a_newer_package_or_contract_is_reported_not_failed(tmp_path: Path) -> None:
    """Another package and contract version are notes; the decision still reproduces (exit 0)."""
    recorded = json.loads(_evaluated(tmp_path).read_text())
    recorded["package_version"] = "0.0.1"
    recorded["contract_version"] = "1.0"
    del recorded["differential"][0]["evidence"]  # a field the older contract did not have
    code, out, _ = cli("verify", str(_result_file(tmp_path, recorded)), str(MARK))
    assert code == 0, out
    assert "package version: recorded 0.0.1" in out
    assert "contract version: recorded 1.0" in out
    assert "differential[0].evidence" in out  # named as not compared


def test_an_engine_that_cannot_run_here_is_replaced_and_said(tmp_path: Path) -> None:
    """A result naming an engine this Python cannot run is re-run on one that can, with a note."""
    recorded = json.loads(_evaluated(tmp_path).read_text())
    recorded["engine"]["name"] = "drools"
    code, out, _ = cli("verify", str(_result_file(tmp_path, recorded)), str(MARK))
    assert code == 0, out
    assert "engine 'drools'" in out and "re-run with" in out and default_engine() in out


def test_bad_input_is_exit_2_naming_the_field(tmp_path: Path) -> None:
    """A result without ruleset.sha256, a non-JSON result and an invalid case are exit 2 by name."""
    recorded = json.loads(_evaluated(tmp_path).read_text())
    del recorded["ruleset"]["sha256"]
    code, _, err = cli("verify", str(_result_file(tmp_path, recorded, "bad.json")), str(MARK))
    assert code == 2 and "ruleset.sha256" in err and "Traceback" not in err
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    code, _, err = cli("verify", str(broken), str(MARK))
    assert code == 2 and "broken.json" in err
    case = tmp_path / "case.json"
    case.write_text(json.dumps({**load_example("mark.json"), "patient": {"age": 400}}), encoding="utf-8")
    code, _, err = cli("verify", str(_evaluated(tmp_path)), str(case))
    assert code == 2 and "patient.age" in err
    code, _, err = cli("verify", str(MARK))
    assert code == 2 and "RESULT.json CASE.json" in err


# ---------------------------------------------------------------- batch results files


def _batch_files(tmp_path: Path, gz: bool = False) -> tuple[Path, Path, list[dict[str, Any]]]:
    """A cases file (with a bad line the batch refuses) and its results in the batch's format."""
    cases = [
        {"id": "a", "case": base_case(weakness=True)},
        base_case(numbness=True),
        {"id": "bad", "case": {"patient": {"age": 30}}},
        {"id": 4, "case": load_example("mark.json")},
    ]
    text = "\n".join(json.dumps(line) for line in cases[:2]) + "\n\n" + "\n".join(
        json.dumps(line) for line in cases[2:]) + "\n"
    cases_path = tmp_path / ("cases.jsonl.gz" if gz else "cases.jsonl")
    if gz:
        cases_path.write_bytes(gzip.compress(text.encode()))
    else:
        cases_path.write_text(text, encoding="utf-8")
    numbered = {1: cases[0], 2: cases[1], 5: cases[3]}  # line 3 is blank, line 4 refused
    results = []
    for number, line in numbered.items():
        case = line.get("case", line)
        results.append({"line": number, "id": line.get("id") if "case" in line else None,
                        "result": evaluate(case).to_dict()})
    results_path = tmp_path / "results.jsonl"
    results_path.write_text("".join(json.dumps(r) + "\n" for r in results), encoding="utf-8")
    return cases_path, results_path, results


def test_every_line_of_a_batch_results_file_is_verified(tmp_path: Path) -> None:
    """A batch results file with its (gzipped) cases file: every line re-run, refused lines counted."""
    cases, results, _ = _batch_files(tmp_path, gz=True)
    code, out, err = cli("verify", str(results), str(cases))
    assert code == 0, out + err
    assert "verified 3 result lines" in out
    assert "3 reproduced, 0 differ" in out
    assert "1 case lines refused by the batch" in out


def test_a_changed_batch_line_is_named(tmp_path: Path) -> None:
    """One tampered line of a batch results file fails the run (exit 1) and is named by line and id."""
    cases, results_path, results = _batch_files(tmp_path)
    results[2]["result"]["triage"]["level"] = "monitor"
    results_path.write_text("".join(json.dumps(r) + "\n" for r in results), encoding="utf-8")
    code, out, _ = cli("verify", str(results_path), str(cases), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert (report["reproduced"], report["differing"]) == (2, 1)
    (failure,) = report["failures"]
    assert (failure["line"], failure["id"]) == (5, 4)
    assert any(d["path"] == "triage.level" for d in failure["verification"]["differences"])


def test_a_dropped_result_line_fails_and_is_named(tmp_path: Path) -> None:
    """A valid case line with no result line is a missing result: exit 1, named by line and id."""
    cases, results_path, results = _batch_files(tmp_path)
    results_path.write_text("".join(json.dumps(r) + "\n" for r in results[1:]), encoding="utf-8")
    code, out, _ = cli("verify", str(results_path), str(cases))
    assert code == 1
    assert "line 1 (id 'a'): no result: the case is valid" in out
    assert "1 case lines refused by the batch, 1 case lines with no result" in out
    code, out, _ = cli("verify", str(results_path), str(cases), "--format", "json")
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    assert (report["missing"], report["refused"], report["reproduced"]) == (1, 1, 2)
    assert [(f["line"], f["id"]) for f in report["failures"]] == [(1, "a")]


def test_a_dropped_last_result_line_fails(tmp_path: Path) -> None:
    """A valid case line after the last result line, with no result, is missing too."""
    cases, results_path, results = _batch_files(tmp_path)
    results_path.write_text("".join(json.dumps(r) + "\n" for r in results[:2]), encoding="utf-8")
    code, out, _ = cli("verify", str(results_path), str(cases))
    assert code == 1 and "line 5 (id 4): no result" in out


def test_a_valid_case_line_the_refused_file_names_counts_as_refused(tmp_path: Path) -> None:
    """A valid case line with no result is refused, not missing, when the batch's refused file names it."""
    cases, results_path, results = _batch_files(tmp_path)
    results_path.write_text("".join(json.dumps(r) + "\n" for r in results[1:]), encoding="utf-8")
    refused = tmp_path / "results.refused.jsonl"
    refused.write_text(json.dumps({"line": 1, "id": "a", "errors": [{"field": "engine", "message": "x"}]})
                       + "\n", encoding="utf-8")
    code, out, err = cli("verify", str(results_path), str(cases), "--refused", str(refused))
    assert code == 0, out + err
    assert "2 case lines refused by the batch, 0 case lines with no result" in out


def test_a_result_line_the_refused_file_also_names_fails(tmp_path: Path) -> None:
    """A line with a result that the refused file names too is a contradiction: exit 1, named."""
    cases, results_path, _ = _batch_files(tmp_path)
    refused = tmp_path / "results.refused.jsonl"
    refused.write_text(json.dumps({"line": 2, "id": None, "errors": []}) + "\n", encoding="utf-8")
    code, out, _ = cli("verify", str(results_path), str(cases), "--refused", str(refused))
    assert code == 1 and "line 2: has a result and the refused file names it too" in out


def test_a_refused_file_not_of_a_batch_is_bad_input(tmp_path: Path) -> None:
    """A --refused file whose line is not a batch's refusal is exit 2 naming the file and line."""
    cases, results_path, _ = _batch_files(tmp_path)
    refused = tmp_path / "other.jsonl"
    refused.write_text('{"line": 1}\n', encoding="utf-8")
    code, _, err = cli("verify", str(results_path), str(cases), "--refused", str(refused))
    assert code == 2 and "other.jsonl: line 1" in err


def test_a_real_batch_with_a_line_dropped_fails(tmp_path: Path) -> None:
    """A line removed from what `twitchrules batch` wrote fails verify, with or without its refused file."""
    cases = tmp_path / "cohort.jsonl"
    assert cli("synth", "12", "--seed", "1", "-o", str(cases))[0] == 0
    results = tmp_path / "results.jsonl"
    code, _, err = cli("batch", str(cases), "-o", str(results), "--workers", "1")
    assert code == 0, err
    kept = results.read_text(encoding="utf-8").splitlines(keepends=True)
    dropped = tmp_path / "dropped.jsonl"
    dropped.write_text("".join(kept[:4] + kept[5:]), encoding="utf-8")
    for extra in ((), ("--refused", str(tmp_path / "results.refused.jsonl"))):
        code, out, _ = cli("verify", str(dropped), str(cases), *extra)
        assert code == 1 and "line 5" in out and "1 case lines with no result" in out, out


def test_a_batch_result_with_no_case_line_is_bad_input(tmp_path: Path) -> None:
    """A result line pointing past the cases file is exit 2 naming the line."""
    cases, results_path, results = _batch_files(tmp_path)
    results[2]["line"] = 99
    results_path.write_text("".join(json.dumps(r) + "\n" for r in results), encoding="utf-8")
    code, _, err = cli("verify", str(results_path), str(cases))
    assert code == 2 and "results.jsonl: line 3: line" in err and "99" in err


def test_every_engine_name_a_result_gives_maps_to_its_engine() -> None:
    """The engine name each usable backend writes into results maps back to that backend."""
    from twitchrules.engine import available_engines, cached_ruleset, get_backend
    from twitchrules.verify.reproduce import ENGINE_OF_RESULT_NAME

    for engine in available_engines():
        written = get_backend(cached_ruleset(None), engine).name
        assert ENGINE_OF_RESULT_NAME[written] == engine
