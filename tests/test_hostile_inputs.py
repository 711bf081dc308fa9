"""Hostile case input (issue 17, items 1-6): each is refused by name, exit 2, never a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from twitchrules import CaseError, case_from_json, case_from_mapping, evaluate
from twitchrules.case import vocabulary as words
from twitchrules.case.reading import MAX_JSON_DEPTH, MAX_PROBLEMS
from twitchrules.engine import available_engines

from .conftest import base_case

EXE = shutil.which("twitchrules") or str(Path(sys.executable).parent / "twitchrules")
ENGINES = available_engines()
SUBNORMALS = (1e-320, 5e-324, -4e-310)
TINY_NORMALS = (1e-05, 5e-05, 2e-07, 3e-300, 2.2250738585072014e-308)


def run_cli(case_file: Path) -> subprocess.CompletedProcess[str]:
    """``twitchrules evaluate CASE`` as a user runs it."""
    return subprocess.run([EXE, "evaluate", str(case_file)], capture_output=True, text=True,
                          timeout=120)


def assert_refused(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2, the needles in stderr, no traceback, nothing on stdout."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    for needle in needles:
        assert needle in done.stderr, done.stderr


def case_text(findings_json: str) -> str:
    """A valid case's JSON text whose findings object is ``findings_json`` verbatim."""
    text = json.dumps(base_case())
    return text.replace('"findings": {}', f'"findings": {findings_json}')


def without_engine(result: Any) -> dict[str, Any]:
    """A result as JSON data without the engine's name and version (the only part that differs)."""
    data = json.loads(result.model_dump_json(by_alias=True))
    data.pop("engine")
    return data


# Item 1: subnormal floats.

@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("field", list(words.NUMBER_FINDINGS))
def test_subnormal_number_is_refused_naming_the_field(engine: str, field: str) -> None:
    """A subnormal float in any numeric finding is a CaseError naming that field, on every engine."""
    for value in SUBNORMALS:
        with pytest.raises(CaseError, match=f"findings.{field}") as caught:
            evaluate(base_case(**{field: value}), engine=engine)
        assert any(loc == f"findings.{field}" for loc, _ in caught.value.problems)


def test_subnormal_number_from_the_cli_exits_2(tmp_path: Path) -> None:
    """The issue's `sleep_hours: 1e-320` file: exit 2 naming the field, no traceback."""
    case_file = tmp_path / "case.json"
    case_file.write_text(case_text('{"sleep_hours": 1e-320}'))
    assert_refused(run_cli(case_file), "findings.sleep_hours", "subnormal")


@pytest.mark.skipif(len(ENGINES) < 2, reason="needs both engines (durable-rules imports on <3.13)")
@pytest.mark.parametrize("field", list(words.NUMERIC_FINDINGS))
def test_tiny_normal_numbers_give_identical_results_on_both_engines(field: str) -> None:
    """Tiny floats written with an exponent (1e-05) evaluate, and both engines agree byte for byte."""
    for value in TINY_NORMALS:
        case = base_case(**{field: value})
        results = [without_engine(evaluate(case, engine=engine)) for engine in ENGINES]
        assert all(result == results[0] for result in results), (field, value)


@pytest.mark.skipif("durable" not in ENGINES, reason="durable-rules does not import here")
def test_durable_failure_is_not_hidden_by_its_cleanup() -> None:
    """When durable-rules refuses a fact, the EngineError names the assert, not the state cleanup."""
    from twitchrules.case import build_facts
    from twitchrules.engine import cached_ruleset, get_backend
    from twitchrules.errors import EngineError

    ruleset = cached_ruleset(None)
    backend = get_backend(ruleset, "durable")
    facts = dict(build_facts(case_from_mapping(base_case()), ruleset.fact_definitions))
    facts["sleep_hours"] = float("nan")  # no JSON parser reads NaN: the assert itself fails
    with pytest.raises(EngineError, match="assert") as caught:
        backend.run(facts)
    assert "delete state" not in str(caught.value)
    assert backend.run(dict(build_facts(case_from_mapping(base_case()),
                                        ruleset.fact_definitions))) is not None


# Items 2-4: numbers too long, nesting too deep, text that is not UTF-8.

def test_integer_of_5000_digits_is_refused(tmp_path: Path) -> None:
    """An integer past Python's 4,300-digit limit is refused as too long, exit 2."""
    case_file = tmp_path / "case.json"
    case_file.write_text(case_text('{"sleep_hours": ' + "9" * 5000 + "}"))
    assert_refused(run_cli(case_file), "too long")
    with pytest.raises(CaseError, match="too long"):
        case_from_json(case_file.read_text())


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_deep_nesting_is_refused(tmp_path: Path, depth: int) -> None:
    """JSON nested past the limit (1,000 and 100,000 deep too) is refused naming the depth."""
    case_file = tmp_path / "case.json"
    case_file.write_text(case_text("[" * depth + "]" * depth))
    assert_refused(run_cli(case_file), f"nested deeper than {MAX_JSON_DEPTH}")


def test_deep_mapping_given_to_the_api_is_refused() -> None:
    """A deeply nested mapping handed to the API (not JSON) is refused, no RecursionError."""
    deep: Any = True
    for _ in range(5000):
        deep = {"x": deep}
    with pytest.raises(CaseError, match="nested deeper"):
        evaluate(base_case(weakness=deep))


def test_cyclic_mapping_given_to_the_api_is_refused() -> None:
    """A mapping that contains itself is refused as too deep instead of looping."""
    case = base_case()
    case["findings"]["loop"] = case
    with pytest.raises(CaseError, match="nested deeper"):
        case_from_mapping(case)


@pytest.mark.parametrize(("encoding", "needle"), [("latin-1", "not UTF-8"), ("utf-16", "UTF-16"),
                                                   ("utf-32", "UTF-32")])
def test_text_that_is_not_utf8_is_refused(tmp_path: Path, encoding: str, needle: str) -> None:
    """Latin-1 bytes, or UTF-16/32 with a byte-order mark, are refused saying so, exit 2."""
    case_file = tmp_path / "case.json"
    case_file.write_bytes(case_text('{"notes_é": true}').encode(encoding))
    assert_refused(run_cli(case_file), needle)


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """A UTF-8 file with a byte-order mark (as some editors save it) is read."""
    case_file = tmp_path / "case.json"
    case_file.write_bytes(b"\xef\xbb\xbf" + case_text('{"weakness": true}').encode())
    done = run_cli(case_file)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Triage:")


def test_nan_is_not_a_json_number() -> None:
    """NaN and Infinity, which Python's json would accept, are refused."""
    for literal in ("NaN", "Infinity", "-Infinity", "1e400"):
        with pytest.raises(CaseError, match="sleep_hours|JSON number|too large"):
            case_from_json(case_text('{"sleep_hours": ' + literal + "}"))


# Item 5: duplicate keys.

@pytest.mark.parametrize(("fragment", "path"), [
    ('{"weakness": true, "weakness": false}', "findings.weakness"),
    ('{"sleep_hours": 7, "numbness": false, "sleep_hours": 3}', "findings.sleep_hours"),
])
def test_duplicate_key_is_refused_naming_its_path(tmp_path: Path, fragment: str, path: str) -> None:
    """A key given twice is a contradiction: refused, naming the key's path."""
    case_file = tmp_path / "case.json"
    case_file.write_text(case_text(fragment))
    assert_refused(run_cli(case_file), path, "more than once")


def test_duplicate_key_inside_a_list_is_named() -> None:
    """A duplicate inside a region entry is named with its index."""
    text = json.dumps(base_case()).replace('"side": "left"', '"side": "left", "side": "right"')
    with pytest.raises(CaseError) as caught:
        case_from_json(text)
    assert caught.value.problems[0][0] == "twitching.regions[0].side"


# Item 6: a flood of unknown keys.

def test_problems_reported_are_capped() -> None:
    """100,000 unknown keys give MAX_PROBLEMS problems and one line counting the rest."""
    flood = {f"k{index}": True for index in range(100_000)}
    with pytest.raises(CaseError) as caught:
        case_from_mapping(base_case(**flood))
    problems = caught.value.problems
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1][1] == f"... and {100_000 - MAX_PROBLEMS} more problem(s) not listed"
    assert all("is not a known finding" in message for _, message in problems[:-1])


def test_few_problems_are_all_listed() -> None:
    """Below the cap every problem is named, with its did-you-mean."""
    with pytest.raises(CaseError) as caught:
        case_from_mapping(base_case(weaknes=True, numbnes=False))
    messages = [message for _, message in caught.value.problems]
    assert any("did you mean 'weakness'" in m for m in messages)
    assert any("did you mean 'numbness'" in m for m in messages)
