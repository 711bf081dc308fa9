"""Hypothesis strategies: contract-valid cases, built from the contract's own vocabulary."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from twitchrules.case import vocabulary as words
from twitchrules.case.synthetic import drop_contradicted_qualifiers

RED_FLAG_FINDINGS: tuple[str, ...] = (
    "weakness", "muscle_wasting", "numbness", "tingling", "coordination_problems",
    "slurred_speech", "swallowing_difficulty",
)
"""The article's red-flag findings, as the bundled ruleset defines them."""

ASSESSED_ON = date(2026, 11, 20)


def _number(low: float, high: float) -> st.SearchStrategy[float]:
    # Round to two places: realistic values, and the limits themselves are reachable.
    return st.floats(min_value=low, max_value=high, allow_nan=False).map(lambda x: round(x, 2)).filter(
        lambda x: low <= x <= high)


@st.composite
def regions(draw: st.DrawFn) -> list[dict[str, str]]:
    """One to four twitching regions with onset dates up to a year before the assessment."""
    count = draw(st.integers(min_value=1, max_value=4))
    chosen = draw(st.lists(st.sampled_from(words.REGIONS), min_size=count, max_size=count, unique=True))
    return [
        {"region": region, "side": draw(st.sampled_from(words.SIDES)),
         "since": (ASSESSED_ON - timedelta(days=draw(st.integers(0, 365)))).isoformat()}
        for region in chosen
    ]


@st.composite
def findings(draw: st.DrawFn) -> dict[str, Any]:
    """Any subset of the contract's findings, each with a valid value."""
    result: dict[str, Any] = {}
    for name in words.BOOLEAN_FINDINGS:
        value = draw(st.sampled_from((None, True, False)))
        if value is not None:
            result[name] = value
    drop_contradicted_qualifiers(result)  # it would contradict its parent: a case the model refuses
    for name, spec in words.NUMBER_FINDINGS.items():
        if draw(st.booleans()):
            result[name] = draw(_number(spec.low, spec.high))
    for name, values in words.ENUM_FINDINGS.items():
        if draw(st.booleans()):
            result[name] = draw(st.sampled_from(values))
    return result


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    """A contract-valid case: any age, regions, course, relief and findings."""
    twitching: dict[str, Any] = {"regions": draw(regions())}
    course = draw(st.sampled_from((None, *words.COURSES)))
    if course is not None:
        twitching["course"] = course
    relieved = draw(st.sampled_from((None, True, False)))
    if relieved is not None:
        twitching["relieved_by_rest"] = relieved
    return {
        "assessed_on": ASSESSED_ON.isoformat(),
        "patient": {"age": draw(st.integers(0, 120)), "sex": draw(st.sampled_from(words.SEXES))},
        "twitching": twitching,
        "findings": draw(findings()),
    }
