"""The public Python API: a small, explicit surface."""

from __future__ import annotations

import subprocess
import sys

import pytest

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


def _python(code: str) -> str:
    """What a fresh interpreter prints running ``code``."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_loads_no_stage() -> None:
    """import twitchrules loads only the errors and the version: no stage, no pydantic, no CLIPS."""
    loaded = _python("import sys, twitchrules; print(' '.join(sorted(m for m in sys.modules if "
                     "m.split('.')[0] in ('twitchrules', 'pydantic', 'clips', 'click'))))")
    assert loaded.split() == ["twitchrules", "twitchrules.errors", "twitchrules.version"]


@pytest.mark.parametrize("first", ["import twitchrules.explain.render", "import twitchrules",
                                   "from twitchrules.explain import Explanation"])
def test_explain_is_the_function_whatever_is_imported_first(first: str) -> None:
    """twitchrules.explain is the explain function, also when the explain subpackage (of the
    same name) was imported before it was asked for; the subpackage stays importable."""
    out = _python(f"{first}\nimport sys, twitchrules\nfrom twitchrules import explain\n"
                  "from twitchrules.explain import build\n"
                  "print(twitchrules.explain is explain is build.explain, "
                  "type(sys.modules['twitchrules.explain']).__name__)")
    assert out == "True module"


def test_public_names_resolve() -> None:
    """Every name in __all__ is an attribute of the package (imported on first use)."""
    assert all(getattr(twitchrules, name) is not None for name in twitchrules.__all__)
