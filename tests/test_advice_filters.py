"""Declared orders and filters: the most pressing timeframe, advice that belongs to a level,
advice withheld by a fact, and the inputs missing information asks for first."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from twitchrules import RulesetError, evaluate
from twitchrules.ruleset import read_merged, ruleset_from_document
from twitchrules.ruleset.model import Ruleset

from .conftest import STARTER, base_case

ORDER = ["now", "today", "days", "weeks", "watch", "self-care"]
ALL_ABSENT = dict(weakness=False, muscle_wasting=False, numbness=False, tingling=False,
                  coordination_problems=False, slurred_speech=False, swallowing_difficulty=False)


def _document() -> dict[str, Any]:
    document, _ = read_merged(STARTER)
    return copy.deepcopy(document)


def _rule(document: dict[str, Any], rule_id: str) -> dict[str, Any]:
    (found,) = [rule for rule in document["rules"] if rule["id"] == rule_id]
    return found


def _with_order(document: dict[str, Any], within: dict[str, str]) -> dict[str, Any]:
    """Declare the timeframe order and give every triage of the starter a category."""
    document["definitions"]["timeframe_urgency"] = list(ORDER)
    document["triage_default"]["within"] = "watch"
    for rule in document["rules"]:
        for conclusion in rule["then"]:
            if "triage" in conclusion:
                conclusion["triage"]["within"] = within.get(rule["id"], "weeks")
    return document


def _errors(document: dict[str, Any]) -> str:
    with pytest.raises(RulesetError) as caught:
        ruleset_from_document(document, path="broken.yaml")
    return caught.value.message


def _spread_with_weakness() -> dict[str, Any]:
    case = base_case(weakness=True)
    case["twitching"]["regions"].append({"region": "forearm", "side": "right", "since": "2026-11-16"})
    return case


def _load(document: dict[str, Any]) -> Ruleset:
    return ruleset_from_document(document)


def test_without_a_declared_order_the_first_rule_gives_the_timeframe() -> None:
    """A ruleset that declares no timeframe order shows the first level-setting rule's timeframe."""
    document = _document()
    result = evaluate(_spread_with_weakness(), ruleset=_load(document))
    assert result.triage.rules[:2] == ["RF-WEAKNESS", "RF-SPREAD"]
    assert result.triage.timeframe == _rule(document, "RF-WEAKNESS")["then"][0]["triage"]["timeframe"]


def test_the_most_pressing_declared_timeframe_is_shown() -> None:
    """Among rules setting the level, the timeframe declared most pressing wins, whatever fires first."""
    document = _with_order(_document(), {"RF-SPREAD": "days", "RF-WEAKNESS": "weeks"})
    result = evaluate(_spread_with_weakness(), ruleset=_load(document))
    assert result.triage.level == "prompt"
    assert result.triage.rules[:2] == ["RF-WEAKNESS", "RF-SPREAD"]
    assert result.triage.timeframe == _rule(document, "RF-SPREAD")["then"][0]["triage"]["timeframe"]
    swapped = _with_order(_document(), {"RF-SPREAD": "weeks", "RF-WEAKNESS": "days"})
    again = evaluate(_spread_with_weakness(), ruleset=_load(swapped))
    assert again.triage.timeframe == _rule(swapped, "RF-WEAKNESS")["then"][0]["triage"]["timeframe"]


def test_timeframe_categories_are_checked() -> None:
    """A declared order needs every triage to name a category from it; a category needs the order."""
    missing = _with_order(_document(), {})
    del _rule(missing, "RF-SPREAD")["then"][0]["triage"]["within"]
    assert "RF-SPREAD: then[0].triage.within" in _errors(missing)
    unknown = _with_order(_document(), {"RF-SPREAD": "soonish"})
    assert "'soonish' is not one of" in _errors(unknown)
    undeclared = _document()
    _rule(undeclared, "RF-SPREAD")["then"][0]["triage"]["within"] = "days"
    assert "needs definitions.timeframe_urgency" in _errors(undeclared)


def test_advice_above_its_level_is_withheld_but_traced() -> None:
    """Advice with up_to_level is given at or below that level and withheld beside a higher triage."""
    document = _document()
    _rule(document, "LS-CAFFEINE")["then"][0]["recommend"]["up_to_level"] = "monitor"
    ruleset = _load(document)
    benign = evaluate(base_case(caffeine_mg_per_day=600, **ALL_ABSENT), ruleset=ruleset)
    assert benign.triage.level == "self-care"
    assert "reduce-caffeine" in {r.id for r in benign.recommendations}
    urgent = evaluate(base_case(caffeine_mg_per_day=600, muscle_wasting=True), ruleset=ruleset)
    assert urgent.triage.level == "immediate"
    assert "reduce-caffeine" not in {r.id for r in urgent.recommendations}
    assert "LS-CAFFEINE" in {entry.rule for entry in urgent.trace}


def test_advice_unless_a_fact_is_true() -> None:
    """Advice with unless is withheld when a named fact is true, and given when it is false or unknown."""
    document = _document()
    _rule(document, "LS-CAFFEINE")["then"][0]["recommend"]["unless"] = ["pregnant"]
    ruleset = _load(document)

    def advice(**findings: Any) -> set[str]:
        return {r.id for r in evaluate(base_case(caffeine_mg_per_day=600, **findings),
                                       ruleset=ruleset).recommendations}

    assert "reduce-caffeine" not in advice(pregnant=True)
    assert "reduce-caffeine" in advice(pregnant=False)
    assert "reduce-caffeine" in advice()


def test_advice_filters_are_checked() -> None:
    """One advice id has one up_to_level; unless names true/false facts only."""
    document = _document()
    copied = copy.deepcopy(_rule(document, "LS-CAFFEINE"))
    copied["id"] = "LS-CAFFEINE-AGAIN"
    copied["then"][0]["recommend"]["up_to_level"] = "prompt"
    document["rules"].append(copied)
    assert "recommendation 'reduce-caffeine' has up_to_level 'prompt' here but None" in _errors(document)
    numbers = _document()
    _rule(numbers, "LS-CAFFEINE")["then"][0]["recommend"]["unless"] = ["sleep_hours"]
    assert "'sleep_hours' is not a true/false fact" in _errors(numbers)


def test_ask_first_orders_missing_information_within_a_level() -> None:
    """Inputs named in definitions.ask_first come first among inputs that reach the same level."""
    document = _document()
    breathing = copy.deepcopy(_rule(document, "RF-WASTING"))
    breathing.update(id="RF-BREATHING", when={"fact": "breathing_difficulty", "is": True})
    breathing["then"] = [breathing["then"][0]]
    document["rules"].append(breathing)
    plain = [m.input for m in evaluate(base_case(), ruleset=_load(document)).missing_information]
    assert plain.index("muscle_wasting") < plain.index("breathing_difficulty")
    document["definitions"]["ask_first"] = ["breathing_difficulty"]
    asked = [m.input for m in evaluate(base_case(), ruleset=_load(document)).missing_information]
    assert asked[0] == "breathing_difficulty"
    assert sorted(asked) == sorted(plain)
    document["definitions"]["ask_first"] = ["breathing"]
    assert "'breathing' is not an input of the contract" in _errors(document)
