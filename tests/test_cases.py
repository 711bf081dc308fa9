"""Case files: every rulesets/twitching/tests/*.json gives the result its expect block states."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from twitchrules import evaluate

from .conftest import CASES_DIR

CASE_FILES = sorted(CASES_DIR.glob("*.json"))
LEVELS = ["self-care", "monitor", "prompt", "urgent", "immediate"]
KNOWN_KEYS = {
    "triage", "triage_at_least", "triage_timeframe_includes",
    "differential_includes", "differential_excludes", "differential_first",
    "differential_before", "differential_tests_include",
    "checklist", "checklist_count", "checklist_count_at_least",
    "missing_information_includes", "missing_information_excludes", "missing_information_first",
    "recommendations_include", "recommendations_exclude",
    "recommendations_text_include", "recommendations_text_exclude",
    "notices_include", "notices_exclude",
}
"""The expect keys a case file may use (each optional). Text checks are case-insensitive
substrings; ``differential_before: [[a, b]]`` means a is listed and, if b is listed too, a
ranks above b."""


def load_case_file(path: Path) -> dict[str, Any]:
    """One case file as a dict."""
    return json.loads(path.read_text(encoding="utf-8"))


def mismatches(expect: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """Every way a result departs from an expect block, in words."""
    problems: list[str] = []
    level = result["triage"]["level"]
    if "triage" in expect and level != expect["triage"]:
        problems.append(f"triage is {level}, expected {expect['triage']}")
    if "triage_at_least" in expect and LEVELS.index(level) < LEVELS.index(expect["triage_at_least"]):
        problems.append(f"triage is {level}, expected at least {expect['triage_at_least']}")
    timeframe = result["triage"]["timeframe"].lower()
    for words in expect.get("triage_timeframe_includes", []):
        if words.lower() not in timeframe:
            problems.append(f"triage timeframe {timeframe!r} lacks {words!r}")
    listed = [entry["condition"] for entry in result["differential"]]
    for condition in expect.get("differential_includes", []):
        if condition not in listed:
            problems.append(f"differential lacks {condition} (has {listed})")
    for condition in expect.get("differential_excludes", []):
        if condition in listed:
            problems.append(f"differential lists {condition} (has {listed})")
    if "differential_first" in expect and (not listed or listed[0] != expect["differential_first"]):
        problems.append(f"differential first is {listed[:1]}, expected {expect['differential_first']}")
    for above, below in expect.get("differential_before", []):
        if above not in listed:
            problems.append(f"differential lacks {above} (expected above {below}; has {listed})")
        elif below in listed and listed.index(above) > listed.index(below):
            problems.append(f"differential ranks {below} above {above} (has {listed})")
    tests_of = {entry["condition"]: " | ".join(entry["tests"]).lower()
                for entry in result["differential"]}
    for condition, wanted in expect.get("differential_tests_include", {}).items():
        for words in wanted:
            if words.lower() not in tests_of.get(condition, ""):
                problems.append(f"tests of {condition} lack {words!r} (have {tests_of.get(condition)!r})")
    statuses = {item["id"]: item["status"] for item in result["checklist"]["items"]}
    for item, status in expect.get("checklist", {}).items():
        if statuses.get(item) != status:
            problems.append(f"checklist {item} is {statuses.get(item)}, expected {status}")
    count = result["checklist"]["count"]
    if "checklist_count" in expect and count != expect["checklist_count"]:
        problems.append(f"checklist count is {count}, expected {expect['checklist_count']}")
    if "checklist_count_at_least" in expect and count < expect["checklist_count_at_least"]:
        problems.append(f"checklist count is {count}, expected >= {expect['checklist_count_at_least']}")
    missing = [entry["input"] for entry in result["missing_information"]]
    for name in expect.get("missing_information_includes", []):
        if name not in missing:
            problems.append(f"missing_information lacks {name}")
    for name in expect.get("missing_information_excludes", []):
        if name in missing:
            problems.append(f"missing_information lists {name}")
    if "missing_information_first" in expect and missing[:1] != [expect["missing_information_first"]]:
        problems.append(f"missing_information first is {missing[:1]}, expected "
                        f"{expect['missing_information_first']}")
    advice = [entry["id"] for entry in result["recommendations"]]
    for rec in expect.get("recommendations_include", []):
        if rec not in advice:
            problems.append(f"recommendations lack {rec} (have {advice})")
    for rec in expect.get("recommendations_exclude", []):
        if rec in advice:
            problems.append(f"recommendations include {rec}")
    texts = [entry["text"].lower() for entry in result["recommendations"]]
    for words in expect.get("recommendations_text_include", []):
        if not any(words.lower() in text for text in texts):
            problems.append(f"no recommendation mentions {words!r}")
    for words in expect.get("recommendations_text_exclude", []):
        if any(words.lower() in text for text in texts):
            problems.append(f"a recommendation mentions {words!r}")
    notices = [entry["code"] for entry in result["notices"]]
    for code in expect.get("notices_include", []):
        if code not in notices:
            problems.append(f"notices lack {code}")
    for code in expect.get("notices_exclude", []):
        if code in notices:
            problems.append(f"notices include {code}")
    return problems


def test_enough_case_files() -> None:
    """There are at least 40 case files, each with a unique id matching its file name."""
    assert len(CASE_FILES) >= 40
    ids = [load_case_file(path)["id"] for path in CASE_FILES]
    assert len(ids) == len(set(ids))
    assert all(path.stem == load_case_file(path)["id"] for path in CASE_FILES)


@pytest.mark.parametrize("path", CASE_FILES, ids=[path.stem for path in CASE_FILES])
def test_case_file(path: Path) -> None:
    """The bundled ruleset gives the result the case file expects."""
    data = load_case_file(path)
    assert {"id", "title", "source", "case", "expect"} <= set(data)
    assert set(data["expect"]) <= KNOWN_KEYS, f"unknown expect keys: {set(data['expect']) - KNOWN_KEYS}"
    result = evaluate(data["case"]).model_dump(mode="json", by_alias=True)
    problems = mismatches(data["expect"], result)
    assert not problems, f"{path.name}: " + "; ".join(problems)


def _ranked(case: dict[str, Any]) -> dict[str, tuple[int, float]]:
    return {entry.condition: (entry.rank, entry.score) for entry in evaluate(case).differential}


def test_adding_wasting_moves_als_up() -> None:
    """Adding visible wasting to Mark's full history raises ALS's score and moves it above MMN."""
    case = load_case_file(CASES_DIR / "mark-full-history.json")["case"]
    before = _ranked(case)
    case["findings"]["muscle_wasting"] = True
    after = _ranked(case)
    assert before["mmn"][0] < before["als"][0]
    assert after["als"][1] > before["als"][1]
    assert after["als"][0] == 1 and after["mmn"][0] == 2


def test_normal_tsh_lowers_thyroid_score() -> None:
    """A normal TSH counts against thyroid dysfunction supported by symptoms."""
    case = load_case_file(CASES_DIR / "prompt-low-tsh-hyperthyroid.json")["case"]
    del case["findings"]["tsh_miu_l"]
    symptoms_only = _ranked(case)["thyroid_dysfunction"][1]
    case["findings"]["tsh_miu_l"] = 1.8
    with_normal_tsh = _ranked(case)["thyroid_dysfunction"][1]
    assert with_normal_tsh < symptoms_only
