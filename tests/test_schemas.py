"""The generated JSON Schemas match the models and describe real cases and results."""

from __future__ import annotations

import json

import jsonschema

from twitchrules import evaluate
from twitchrules.outputs.schemas import rendered_schemas

from .conftest import ROOT, STARTER, load_example

SCHEMAS = ROOT / "schemas"


def test_schema_files_do_not_drift_from_models() -> None:
    """schemas/case.schema.json and result.schema.json equal what the models generate."""
    for name, text in rendered_schemas().items():
        on_disk = (SCHEMAS / name).read_text(encoding="utf-8")
        assert on_disk == text, f"{name} is stale: run `twitchrules schema generate`"


def test_examples_validate_against_case_schema() -> None:
    """The examples satisfy the published case schema."""
    schema = json.loads((SCHEMAS / "case.schema.json").read_text())
    for name in ("mark.json", "eyelid-benign.json"):
        jsonschema.validate(load_example(name), schema)


def test_case_schema_rejects_unknown_finding() -> None:
    """The published case schema forbids unknown keys, like the model."""
    schema = json.loads((SCHEMAS / "case.schema.json").read_text())
    case = load_example("mark.json")
    case["findings"]["weaknes"] = True
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(case))


def test_result_validates_against_result_schema() -> None:
    """A real result satisfies the published result schema."""
    schema = json.loads((SCHEMAS / "result.schema.json").read_text())
    result = evaluate(load_example("mark.json"), ruleset=STARTER).to_dict()
    jsonschema.validate(result, schema)
    assert result["differential"], "Mark's story has a differential"
    assert all("for" in entry and "evidence" in entry for entry in result["differential"])
