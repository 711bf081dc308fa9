"""The public Python API: a small, explicit surface."""

from __future__ import annotations

import twitchrules
from twitchrules import Case, Result, evaluate

from .conftest import STARTER, load_example


def test_all_is_exactly_the_public_names() -> None:
    """__all__ lists exactly the public names the package exports, sorted."""
    public = {name for name in dir(twitchrules) if not name.startswith("_")} - {
        "cli", "engine"}
    exported = set(twitchrules.__all__) - {"__version__"}
    assert exported == {n for n in public if not _is_module(n)}
    assert twitchrules.__all__ == sorted(twitchrules.__all__)


def _is_module(name: str) -> bool:
    import types

    return isinstance(getattr(twitchrules, name), types.ModuleType)


def test_evaluate_accepts_model_or_mapping() -> None:
    """evaluate takes a Case or a plain mapping and returns the same Result."""
    data = load_example("mark.json")
    from_mapping = evaluate(data, ruleset=STARTER)
    from_model = evaluate(Case.model_validate(data), ruleset=STARTER)
    assert isinstance(from_mapping, Result)
    assert from_mapping.to_json() == from_model.to_json()


def test_result_contract_names() -> None:
    """to_dict uses the contract's names (e.g. 'for', not 'for_')."""
    result = evaluate(load_example("mark.json"), ruleset=STARTER).to_dict()
    for entry in result["differential"]:
        assert "for" in entry and "for_" not in entry
    assert result["contract_version"] == "1.1"


def test_result_round_trips_through_the_model() -> None:
    """A result re-validates under the strict output models (built without validation)."""
    result = evaluate(load_example("mark.json"), ruleset=STARTER)
    again = Result.model_validate(result.to_dict())
    assert again.to_json() == result.to_json()


def test_differential_evidence_carries_values() -> None:
    """Each differential finding comes with the value the case gave, so 'for: numbness' reads as 'no'."""
    result = evaluate(load_example("mark.json"))
    mmn = next(entry for entry in result.differential if entry.condition == "mmn")
    values = {(item.finding, item.direction): item.value for item in mmn.evidence}
    assert values[("weakness_asymmetric", "for")] is True
    assert values[("numbness", "for")] is False
    assert "numbness: no" in mmn.findings_in_words("for")
    assert {item.finding for item in mmn.evidence if item.direction == "for"} == set(mmn.for_)


def test_version_is_the_installed_metadata_version() -> None:
    """__version__ (a literal, no metadata lookup at import) is the version the package is installed as."""
    from importlib import metadata

    assert twitchrules.__version__ == metadata.version("twitchrules")
