"""The case contract: strict models, every offending field named."""

from __future__ import annotations

import pytest

from twitchrules import Case, CaseError, Findings, case_from_json, case_from_mapping, load_ruleset
from twitchrules.case.vocabulary import QUALIFIERS
from twitchrules.resources import bundled_ruleset_path

from .conftest import base_case, load_example

QUALIFIER_PAIRS = [(parent, qualifier)
                   for parent, qualifiers in load_ruleset(bundled_ruleset_path()).definitions["qualifiers"].items()
                   for qualifier in qualifiers]
"""Every (parent, qualifier) the bundled ruleset declares."""


def _problems(data: object) -> dict[str, str]:
    with pytest.raises(CaseError) as caught:
        case_from_mapping(data)
    return dict(caught.value.problems)


def test_examples_are_valid_cases() -> None:
    """The bundled examples validate as cases."""
    for name in ("mark.json", "eyelid-benign.json"):
        assert isinstance(case_from_mapping(load_example(name)), Case)


def test_absent_findings_stay_unknown() -> None:
    """An absent finding is None (unknown), never False."""
    case = case_from_mapping(base_case())
    assert case.findings.weakness is None
    assert case.twitching.relieved_by_rest is None
    assert case.known_findings() == {}


def test_string_yes_is_not_coerced_to_true() -> None:
    """"yes" for a boolean finding is an error naming the field."""
    problems = _problems(base_case(weakness="yes"))
    assert "findings.weakness" in problems


def test_unknown_finding_named_with_suggestion() -> None:
    """An unknown key names its path and suggests the close known name."""
    problems = _problems(base_case(weaknes=True))
    assert problems["findings.weaknes"] == (
        "'findings.weaknes' is not a known finding (did you mean 'weakness'?)"
    )


def test_every_offending_field_is_named() -> None:
    """Several problems at once are all reported, each by its path."""
    data = base_case(weakness=1, caffeine_mg_per_day=-5, potassium_mmol_l=42)
    data["patient"]["age"] = 200
    data["twitching"]["regions"][0]["side"] = "up"
    problems = _problems(data)
    assert set(problems) >= {
        "findings.weakness", "findings.caffeine_mg_per_day", "findings.potassium_mmol_l",
        "patient.age", "twitching.regions[0].side",
    }


def test_lab_out_of_range_names_expected_unit() -> None:
    """A lab value outside its plausible range is refused with the expected unit."""
    problems = _problems(base_case(b12_pmol_l=5000))
    assert "pmol/L" in problems["findings.b12_pmol_l"]
    assert "unit" in problems["findings.b12_pmol_l"]


@pytest.mark.parametrize("value", ["2026/11/20", "20-11-2026", "2026-11-20T10:00:00", 20261120,
                                   "2026-02-30"])
def test_dates_are_parsed_strictly(value: object) -> None:
    """Only a real calendar date written YYYY-MM-DD is accepted."""
    data = base_case()
    data["assessed_on"] = value
    assert "assessed_on" in _problems(data)


def test_since_after_assessed_on_is_refused() -> None:
    """A region cannot start after the assessment date; the region's path is named."""
    data = base_case()
    data["twitching"]["regions"].append({"region": "thigh", "side": "left", "since": "2026-12-01"})
    problems = _problems(data)
    assert "twitching.regions[1].since" in problems
    assert "twitching.regions[0].since" not in problems


def test_regions_must_not_be_empty() -> None:
    """At least one region is required."""
    data = base_case()
    data["twitching"]["regions"] = []
    assert "twitching.regions" in _problems(data)


def test_boolean_is_not_a_number() -> None:
    """true is not accepted where a number is expected."""
    assert "findings.sleep_hours" in _problems(base_case(sleep_hours=True))


def test_integer_numbers_keep_their_type() -> None:
    """An integer stays an integer, so results echo the input faithfully."""
    case = case_from_mapping(base_case(caffeine_mg_per_day=500, sleep_hours=6.5))
    assert case.findings.caffeine_mg_per_day == 500
    assert isinstance(case.findings.caffeine_mg_per_day, int)


def test_not_json_says_so() -> None:
    """Text that is not JSON is refused as such."""
    with pytest.raises(CaseError, match="not valid JSON"):
        case_from_json("{weakness: yes")


def test_top_level_must_be_an_object() -> None:
    """A JSON list is not a case."""
    with pytest.raises(CaseError, match="expected a JSON object"):
        case_from_json("[1, 2]")


@pytest.mark.parametrize(("parent", "qualifier"), QUALIFIER_PAIRS)
def test_qualifier_true_beside_its_parent_false_is_refused(parent: str, qualifier: str) -> None:
    """A qualifier true while its parent is false is refused, naming both fields."""
    problems = _problems(base_case(**{parent: False, qualifier: True}))
    assert problems == {f"findings.{qualifier}": f"true contradicts findings.{parent}: false"}


def test_qualifier_contradiction_joins_other_problems() -> None:
    """The contradiction is listed with the case's other problems, in one CaseError."""
    with pytest.raises(CaseError) as caught:
        case_from_mapping(base_case(weakness=False, weakness_progressive=True, sleep_hours=-1))
    assert ("findings.weakness_progressive: true contradicts findings.weakness: false"
            in caught.value.message)
    assert "findings.sleep_hours" in caught.value.message


@pytest.mark.parametrize(("parent_value", "qualifier_value"),
                         [(True, True), (None, True), (False, False), (True, False)])
def test_qualifier_that_agrees_with_its_parent_is_accepted(parent_value: bool | None,
                                                           qualifier_value: bool) -> None:
    """A qualifier beside a true or unknown parent, or false beside a false one, is valid."""
    for parent, qualifier in QUALIFIER_PAIRS:
        findings = {qualifier: qualifier_value}
        if parent_value is not None:
            findings[parent] = parent_value
        assert getattr(case_from_mapping(base_case(**findings)).findings, qualifier) is (
            qualifier_value)


def test_bundled_qualifiers_are_the_contract_qualifiers() -> None:
    """The ruleset's qualifiers are the ones the case model checks; each field says so."""
    assert {(parent, q) for parent, names in QUALIFIERS.items() for q in names} == set(
        QUALIFIER_PAIRS)
    fields = list(Findings.model_fields)
    for parent, qualifier in QUALIFIER_PAIRS:
        assert fields.index(parent) < fields.index(qualifier)  # the validator reads the parent
        assert parent in (Findings.model_fields[qualifier].description or "")
