"""Properties of the bundled ruleset over generated cases (Hypothesis)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twitchrules import evaluate

from .strategies import RED_FLAG_FINDINGS, cases

LEVELS = ("self-care", "monitor", "prompt", "urgent", "immediate")
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def level_of(case: dict[str, Any]) -> int:
    """Rank of the triage level the bundled ruleset gives a case."""
    return LEVELS.index(evaluate(case).triage.level)


@SETTINGS
@given(case=cases(), red_flag=st.sampled_from(RED_FLAG_FINDINGS))
def test_adding_a_red_flag_never_lowers_triage(case: dict[str, Any], red_flag: str) -> None:
    """Setting any red-flag finding to true never lowers the triage level."""
    flagged = copy.deepcopy(case)
    flagged["findings"][red_flag] = True
    assert level_of(flagged) >= level_of(case)


@SETTINGS
@given(case=cases())
def test_red_flag_present_is_never_self_care(case: dict[str, Any]) -> None:
    """A case with any red-flag finding true, or any unknown, is never self-care."""
    findings = case["findings"]
    if all(findings.get(name) is False for name in RED_FLAG_FINDINGS):
        return
    assert evaluate(case).triage.level != "self-care"


@SETTINGS
@given(case=cases())
def test_same_case_gives_same_bytes(case: dict[str, Any]) -> None:
    """Evaluating the same case twice gives byte-identical JSON."""
    first = evaluate(copy.deepcopy(case)).model_dump_json(by_alias=True).encode("utf-8")
    second = evaluate(copy.deepcopy(case)).model_dump_json(by_alias=True).encode("utf-8")
    assert first == second


@SETTINGS
@given(case=cases())
def test_children_always_get_the_notice(case: dict[str, Any]) -> None:
    """Every case under 18 carries outside-intended-population; every case carries not-a-diagnosis."""
    codes = {notice.code for notice in evaluate(case).notices}
    assert "not-a-diagnosis" in codes
    assert ("outside-intended-population" in codes) == (case["patient"]["age"] < 18)
