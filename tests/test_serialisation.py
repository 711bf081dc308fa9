"""Serialisation: pydantic's own JSON gives the bytes results have always had, and is valid.

``Result.to_json`` is made by ``model_dump_json``; the reference is what it used to be,
``json.dumps(result.to_dict(), indent=..., ensure_ascii=False)``. Results are built from
models without validating them again, so the outputs are checked here: against the
published schema and against the models themselves (a round trip through validation).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from twitchrules import Result, evaluate, load_ruleset

from .conftest import CASES_DIR, ROOT, base_case

CASE_FILES = sorted(CASES_DIR.glob("*.json"))


def _reference(result: Result, indent: int | None) -> str:
    return json.dumps(result.to_dict(), indent=indent, ensure_ascii=False)


@pytest.fixture(scope="module")
def results() -> list[Result]:
    """The result of every case file on the bundled ruleset (default engine)."""
    ruleset = load_ruleset()
    return [evaluate(json.loads(path.read_text(encoding="utf-8"))["case"], ruleset=ruleset)
            for path in CASE_FILES]


def test_to_json_bytes_unchanged_on_every_case_file(results: list[Result]) -> None:
    """to_json gives json.dumps' bytes, indented and compact, for every case file."""
    assert len(results) == len(CASE_FILES) > 0
    for result in results:
        assert result.to_json() == _reference(result, 2)
        assert result.to_json(indent=None) == _reference(result, None)


def test_tiny_float_keeps_python_spelling() -> None:
    """A value below 1e-4 (which pydantic writes as 0.00001) keeps Python's 1e-05."""
    result = evaluate(base_case(caffeine_mg_per_day=1e-05, sleep_hours=2.5e-05, stress_level=9))
    text = result.to_json()
    assert text == _reference(result, 2)
    assert result.to_json(indent=None) == _reference(result, None)
    assert "2.5e-05" in text and "0.000025" not in text


def test_outputs_validate_against_schema_and_models(results: list[Result]) -> None:
    """Every case file's result satisfies result.schema.json and validates back to itself."""
    schema = json.loads((ROOT / "schemas" / "result.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for result in results:
        data: dict[str, Any] = json.loads(result.to_json())
        assert list(validator.iter_errors(data)) == []
        assert Result.model_validate(data) == result
        assert Result.model_validate_json(result.to_json()).to_json() == result.to_json()



def _models(value: Any) -> list[BaseModel]:
    if isinstance(value, BaseModel):
        return [value, *(m for field in type(value).model_fields for m in _models(getattr(value, field)))]
    if isinstance(value, (list, tuple)):
        return [m for item in value for m in _models(item)]
    return []


def test_built_models_hold_exactly_their_fields(results: list[Result]) -> None:
    """Every model in every result holds each of its fields, in declaration order (the order
    pydantic writes them), and nothing else."""
    seen = 0
    for result in results:
        for model in _models(result):
            assert list(vars(model)) == list(type(model).model_fields), type(model).__name__
            seen += 1
    assert seen > len(results) * 10
