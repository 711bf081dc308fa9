"""Explain: why, why not and what if, on case files whose answers were worked out by hand.

The expectations below were read off the rules (rulesets/twitching/rules) before running:
RF-WEAKNESS sets prompt, RF-WASTING and RF-BREATHING immediate, RF-WORSENING monitor, and
SC-BENIGN-SHORT self-care when twitching is short, in one segment, not worsening and every
red flag is known absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import twitchrules
from twitchrules import Explanation, evaluate, explain
from twitchrules.case.vocabulary import level_rank
from twitchrules.cli import main
from twitchrules.explain import WhatIf

from .conftest import CASES_DIR


def _case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data["case"]


def _single(explanation: Explanation, name: str, value: Any) -> WhatIf:
    """The what-if that changes exactly one input to one value (fails if there is none)."""
    for item in explanation.what_if:
        if [(c.input, c.after) for c in item.changes] == [(name, value)]:
            return item
    found = [[(c.input, c.after) for c in item.changes] for item in explanation.what_if]
    raise AssertionError(f"no what-if sets {name}={value!r}; found {found}")


@pytest.fixture(scope="module")
def calf() -> Explanation:
    """Two days of calf twitching after intense exercise, every red flag absent: self-care."""
    return explain(_case("self-care-intense-exercise"))


def test_benign_calf_weakness_moves_it_to_prompt_or_higher(calf: Explanation) -> None:
    """A benign calf case: 'weakness present' moves the triage to prompt or higher."""
    assert calf.triage.level == "self-care"
    item = _single(calf, "weakness", True)
    assert level_rank(item.triage_after) >= level_rank("prompt")
    assert "RF-WEAKNESS" in item.rules_fired
    assert item.changes[0].before is False


def test_red_flags_made_known_raise_to_immediate(calf: Explanation) -> None:
    """Wasting (known absent) changed, or breathing difficulty (unknown) made known: immediate."""
    assert _single(calf, "muscle_wasting", True).triage_after == "immediate"
    breathing = _single(calf, "breathing_difficulty", True)
    assert breathing.triage_after == "immediate" and breathing.changes[0].before is None
    assert "RF-BREATHING" in breathing.rules_fired


def test_nothing_lowers_the_lowest_level(calf: Explanation) -> None:
    """At self-care no change can lower the triage; every what-if changes something."""
    for item in calf.what_if:
        assert level_rank(item.triage_after) >= level_rank(item.triage_before)
        assert item.triage_after != item.triage_before or item.conditions_added \
            or item.conditions_dropped


def test_why_not_immediate_names_the_unknown_breathing(calf: Explanation) -> None:
    """Why not immediate: the breathing rule is one test away, and that test is unknown."""
    levels = {item.level: item for item in calf.why_not_levels}
    assert list(levels) == ["monitor", "prompt", "urgent", "immediate"]
    nearest = {miss.rule: miss for miss in levels["immediate"].nearest}
    assert "RF-BREATHING" in nearest
    (test,) = nearest["RF-BREATHING"].failed
    assert test.unknown and test.actual == "unknown" and test.wanted == "difficulty breathing"


def test_grounds_are_in_words(calf: Explanation) -> None:
    """Supporting findings of the level are clinician phrases, unknown ones are labelled."""
    assert "twitching getting better" in calf.triage.supporting
    assert "Difficulty breathing" in calf.triage.unconfirmed
    assert all("_" not in phrase for phrase in calf.triage.supporting + calf.triage.unconfirmed)


def test_worsening_thumb_falls_when_the_course_is_not_worsening() -> None:
    """A week of worsening thumb twitching (monitor): improving or stable would be self-care."""
    explanation = explain(_case("monitor-worsening-short"))
    assert explanation.triage.level == "monitor"
    falls = [item for item in explanation.what_if if [c.input for c in item.changes]
             == ["twitching.course"] and item.triage_after == "self-care"]
    assert falls and {c.after for item in falls for c in item.changes} <= {"improving", "stable"}
    assert "RF-WORSENING" in falls[0].rules_stopped and "SC-BENIGN-SHORT" in falls[0].rules_fired


def test_weakness_absent_lowers_the_weak_thigh() -> None:
    """Ten days of thigh twitching with weakness (prompt): without weakness it is self-care."""
    explanation = explain(_case("prompt-weakness-single-site"))
    assert "muscle weakness" in explanation.triage.supporting
    item = _single(explanation, "weakness", False)
    assert item.triage_after == "self-care" and "RF-WEAKNESS" in item.rules_stopped


def test_breathing_case_has_no_higher_level_and_can_fall() -> None:
    """At immediate there is no why-not level; breathing known absent would make it self-care."""
    explanation = explain(_case("immediate-breathing-difficulty"))
    assert explanation.why_not_levels == []
    assert _single(explanation, "breathing_difficulty", False).triage_after == "self-care"


@pytest.mark.parametrize("name", ["self-care-intense-exercise", "prompt-low-magnesium"])
def test_every_what_if_is_what_the_engine_gives(name: str) -> None:
    """Each what-if, applied to the case and evaluated afresh, gives its triage and conditions."""
    case = _case(name)
    explanation = explain(case)
    assert explanation.what_if
    for item in explanation.what_if:
        changed = json.loads(json.dumps(case))
        for change in item.changes:
            where, key = change.input.split(".") if "." in change.input else ("findings", change.input)
            changed.setdefault(where, {})[key] = change.after
        result = evaluate(changed)
        assert result.triage.level == item.triage_after
        conditions = {entry.condition for entry in result.differential}
        assert set(item.conditions_added) <= conditions
        assert not set(item.conditions_dropped) & conditions


def test_pairs_are_minimal() -> None:
    """A pair is listed only when neither of its changes alone gives the same result."""
    explanation = explain(_case("unknown-no-findings"))
    singles = {(c.input, repr(c.after)): (item.triage_after, sorted(item.conditions_added))
               for item in explanation.what_if if len(item.changes) == 1 for c in item.changes}
    for item in explanation.what_if:
        if len(item.changes) == 2:
            for change in item.changes:
                alone = singles.get((change.input, repr(change.after)))
                assert alone != (item.triage_after, sorted(item.conditions_added))


def test_the_search_is_capped() -> None:
    """The what-if search never runs the engine more often than its cap."""
    explanation = explain(_case("unknown-no-findings"), max_runs=3)
    assert explanation.search.engine_runs <= 3 and explanation.search.cap == 3
    assert explanation.search.capped


def test_same_case_same_bytes(calf: Explanation) -> None:
    """The same case, ruleset and engine give the same explanation, byte for byte."""
    assert explain(_case("self-care-intense-exercise")).to_json() == calf.to_json()


def test_public_api() -> None:
    """explain and its result type are public names of twitchrules."""
    assert twitchrules.explain is explain and "Explanation" in twitchrules.__all__


def test_cli_formats(tmp_path: Path) -> None:
    """twitchrules explain writes text, JSON (the typed explanation) and HTML (with its section)."""
    path = tmp_path / "case.json"
    path.write_text(json.dumps(_case("self-care-intense-exercise")), encoding="utf-8")
    runner = CliRunner()
    text = runner.invoke(main, ["explain", str(path)])
    assert text.exit_code == 0 and "What would change it" in text.output
    as_json = runner.invoke(main, ["explain", str(path), "--format", "json"])
    assert Explanation.model_validate_json(as_json.output).triage.level == "self-care"
    page = tmp_path / "page.html"
    html = runner.invoke(main, ["explain", str(path), "--format", "html", "-o", str(page)])
    assert html.exit_code == 0
    content = page.read_text(encoding="utf-8")
    assert 'id="explanation"' in content and 'id="differential"' in content


def test_cli_bad_case_is_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    """A case that breaks the contract: the field is named, exit 2, no output file."""
    path = tmp_path / "bad.json"
    case = _case("self-care-intense-exercise")
    case["findings"]["weaknes"] = True
    path.write_text(json.dumps(case), encoding="utf-8")
    out = tmp_path / "out.html"
    run = CliRunner().invoke(main, ["explain", str(path), "--format", "html", "-o", str(out)])
    assert run.exit_code == 2 and "findings.weaknes" in run.output and not out.exists()
    assert "Traceback" not in run.output


def test_capped_search_reaches_the_checklist_fall() -> None:
    """Two checklist items give prompt; family history made 'no' leaves one: the capped search finds the fall."""
    explanation = explain(_case("prompt-checklist-two-items"))
    assert explanation.triage.level == "prompt" and explanation.search.capped
    item = _single(explanation, "family_history_neuromuscular", False)
    assert level_rank(item.triage_after) < level_rank("prompt")


def test_capped_search_reaches_each_goal_before_other_ways_to_it() -> None:
    """Sodium 117 is immediate; within its cap the search reaches every level the full one does."""
    case = _case("lab-severe-hyponatraemia")
    capped, full = explain(case), explain(case, max_runs=1000)
    assert capped.search.capped and not full.search.capped
    assert _single(capped, "sodium_mmol_l", 133).triage_after == "monitor"
    assert {item.triage_after for item in capped.what_if} == {item.triage_after for item in full.what_if}


def test_lower_level_findings_are_not_called_conflicting() -> None:
    """Mark: RF-WEAKNESS sets prompt, RF-WORSENING (twitching getting worse) monitor. The
    worsening is found too, but it does not argue against prompt: it is listed as pointing to
    a lower level, and nothing is called conflicting with the triage."""
    mark = json.loads((Path(twitchrules.__file__).parent.parent.parent / "examples" / "mark.json")
                      .read_text(encoding="utf-8"))
    explanation = explain(mark)
    assert explanation.triage.level == "prompt"
    assert explanation.triage.conflicting == []
    assert "twitching getting worse" in explanation.triage.lower_level
    assert not set(explanation.triage.lower_level) & set(explanation.triage.supporting)
    text = CliRunner().invoke(main, ["explain", "mark.json"]).output
    why_prompt = text.split("Why prompt:")[1].split("Why ")[0]
    assert "conflicting" not in why_prompt
    assert "also found, pointing to a lower level: " in why_prompt
    assert "twitching getting worse" in why_prompt.split("lower level: ")[1]
