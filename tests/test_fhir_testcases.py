"""The ruleset's tests exported as FHIR R4 test-case Libraries (CRMI style): complete and faithful."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from twitchrules.cli import main
from twitchrules.fhir.mapping import case_from_bundle
from twitchrules.ruleset.testing import load_case_files

from .conftest import CASES_DIR

R4B = pytest.importorskip("fhir.resources.R4B.bundle", reason="the service extra holds fhir.resources")
EXT = "http://hl7.org/fhir/StructureDefinition/"


@pytest.fixture(scope="module")
def exported() -> dict[str, Any]:
    """The export of the bundled ruleset's tests, through the command line."""
    done = CliRunner().invoke(main, ["ruleset", "export-tests"])
    assert done.exit_code == 0, done.output
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def _read(parameter: dict[str, Any]) -> Any:
    """One parameter's value, reading parts back into a list (``item``) or a mapping."""
    if "part" not in parameter:
        (key,) = [k for k in parameter if k.startswith("value")]
        return parameter[key]
    parts = parameter["part"]
    if [p["name"] for p in parts] == ["empty"]:
        return []
    if all(p["name"] == "item" for p in parts):
        return [_read(p) for p in parts]
    return {p["name"]: _read(p) for p in parts}


def _parameters_as_expect(parameters: list[dict[str, Any]]) -> dict[str, Any]:
    """Read an expected-output Parameters back into an ``expect`` mapping."""
    return {parameter["name"]: _read(parameter) for parameter in parameters}


def test_export_is_valid_fhir_r4_and_deterministic(exported: dict[str, Any]) -> None:
    """The Bundle parses with the FHIR models, and a second export gives the same bytes."""
    R4B.Bundle.model_validate(exported)
    again = CliRunner().invoke(main, ["ruleset", "export-tests"])
    assert json.loads(again.stdout) == exported and again.stdout == json.dumps(exported, indent=2) + "\n"


def test_every_case_file_is_a_test_case_library(exported: dict[str, Any]) -> None:
    """One Library per case file, naming the ruleset and operation under test."""
    libraries = [e["resource"] for e in exported["entry"] if e["resource"]["resourceType"] == "Library"]
    case_files = load_case_files(CASES_DIR)
    assert [lib["id"] for lib in libraries] == [c.id for c in case_files]
    for library in libraries:
        assert library["type"]["text"] == "test-case"
        tested = [e for e in library["extension"] if e["url"] == EXT + "cqf-testArtifact"]
        assert [next(iter(set(e) - {"url"})) for e in tested] == ["valueCanonical", "valueUri"]
        assert tested[0]["valueCanonical"].startswith("urn:twitchrules:ruleset:twitching|")


def test_inputs_and_expectations_round_trip(exported: dict[str, Any]) -> None:
    """The input case, its FHIR input data and the expected outcome all read back to the case file."""
    by_url = {e["fullUrl"]: e["resource"] for e in exported["entry"]}
    for case_file in load_case_files(CASES_DIR):
        library = by_url[f"urn:twitchrules:ruleset:twitching:test-case:{case_file.id}"]
        contained = {r["id"]: r for r in library["contained"]}
        assert json.loads(contained["input"]["parameter"][0]["valueString"]) == case_file.case
        assert _parameters_as_expect(contained["expected"]["parameter"]) == dict(case_file.expect)
        (data_ref,) = [e["valueReference"]["reference"] for e in library["extension"]
                       if e["url"] == EXT + "cqf-inputData"]
        mapped = case_from_bundle(by_url[data_ref]).case
        assert _without_empty_findings(mapped) == _without_empty_findings(case_file.case), case_file.id


def _without_empty_findings(case: Any) -> dict[str, Any]:
    """A case without an empty ``findings`` (FHIR holds no resource for no findings)."""
    return {key: value for key, value in case.items() if not (key == "findings" and not value)}
