"""Serialisation: pydantic's own JSON gives the bytes results have always had, and is valid.

``Result.to_json`` is made by ``model_dump_json``; the reference is what it used to be,
``json.dumps(result.to_dict(), indent=..., ensure_ascii=False)``. Results are built from
models without validating them again, so the outputs are checked here: against the
published schema and against the models themselves (a round trip through validation).
"""

from __future__ import annotations

import copy
import json
import pickle
import typing
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from twitchrules import Case, Result, available_engines, cohort_cases, evaluate, load_ruleset
from twitchrules.case import build_facts
from twitchrules.case.vocabulary import NUMBER_FINDINGS, NUMERIC_FINDINGS
from twitchrules.conclusions.result import _FLOATS_ALIKE

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


@pytest.mark.parametrize("value", [1e-05, 9.99e-05, 1e-07, 2.5e-10, 3e-300, 0.0001, 0.00012])
def test_small_floats_keep_python_spelling(value: float) -> None:
    """Every spelling pydantic gives a small float (0.0000d..., 1e-7) is caught, indented and
    compact; 1e-4 and above, spelled alike by both, keeps pydantic's own bytes."""
    result = evaluate(base_case(sleep_hours=value, stress_level=9))
    text = result.to_json()
    assert repr(value) in text
    assert text == _reference(result, 2)
    assert result.to_json(indent=None) == _reference(result, None)


@pytest.mark.parametrize("finding", [name for name, spec in NUMBER_FINDINGS.items()
                                     if spec.low < 1e-4])
@pytest.mark.parametrize("engine", available_engines())
def test_every_number_finding_can_carry_a_small_float(finding: str, engine: str) -> None:
    """Whichever number finding holds a float below 1e-4, on either engine, the result
    evaluate builds is not marked as having its floats spelled alike: it keeps Python's
    spelling; the same case with 0.5 instead is marked and keeps pydantic's own bytes."""
    for value, marked in ((1e-05, False), (0.5, True)):
        result = evaluate(base_case(**{"stress_level": 9, finding: value}), engine=engine)
        assert (result.__pydantic_fields_set__ is _FLOATS_ALIKE) is marked
        assert result.to_json() == _reference(result, 2)
        assert result.to_json(indent=None) == _reference(result, None)


def test_number_facts_are_every_fact_a_float_can_be() -> None:
    """The facts evaluate reads for floats (the ruleset's number facts) hold every float
    that the facts of a cohort (with small floats put into its number findings) hold."""
    ruleset = load_ruleset()
    definitions = ruleset.fact_definitions
    assert set(NUMBER_FINDINGS) <= set(definitions.number_facts)
    floats_seen = 0
    for number, case in enumerate(cohort_cases(300, seed=11)):
        findings = case["findings"]
        for name in NUMERIC_FINDINGS:
            if number % 3 == 0 and name in findings:
                findings[name] = 2.5e-05
        facts = build_facts(Case.model_validate(case), definitions)
        holding = {name for name, value in facts.items() if isinstance(value, float)}
        assert holding <= set(definitions.number_facts)
        floats_seen += len(holding)
    assert floats_seen > 300


def test_a_copy_of_a_marked_result_reads_its_floats_again() -> None:
    """model_copy, copy, deepcopy and pickling give a result of its own fields set, so a
    copy whose floats were changed to small ones keeps Python's spelling."""
    result = evaluate(base_case(sleep_hours=5, stress_level=9))
    assert result.__pydantic_fields_set__ is _FLOATS_ALIKE
    copies = [result.model_copy(), copy.copy(result), copy.deepcopy(result),
              pickle.loads(pickle.dumps(result)), Result.model_validate(result.to_dict())]
    for other in copies:
        assert other.__pydantic_fields_set__ is not _FLOATS_ALIKE
        assert other == result and other.to_json() == result.to_json()
    entry = result.trace[0].model_copy(update={"matched": {"sleep_hours": 1e-05}})
    changed = result.model_copy(update={"trace": [entry, *result.trace[1:]]})
    assert "1e-05" in changed.to_json() and changed.to_json() == _reference(changed, 2)


def test_words_like_exponents_keep_pydantic_bytes() -> None:
    """Text that only looks like a small float ("e-1" after a letter, "0.00" of a score)
    changes nothing: the result's bytes are json.dumps' either way."""
    result = evaluate(base_case(caffeine_mg_per_day=0.5, stress_level=9))
    tricky = result.model_copy(update={"package_version": "0.1.0-line-2e 0.000"})
    assert tricky.to_json() == _reference(tricky, 2)
    assert tricky.to_json(indent=None) == _reference(tricky, None)


def _annotation_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for part in typing.get_args(annotation) for model in _annotation_models(part)]


def test_only_known_fields_can_hold_floats() -> None:
    """The fields of the result's models that admit a float (or anything) are exactly those
    ``to_json``'s small-float check reads: a differential entry's score, an evidence value,
    a trace entry's matched values."""
    admitting: set[str] = set()
    seen: set[type[BaseModel]] = set()
    waiting: list[type[BaseModel]] = [Result]
    while waiting:
        model = waiting.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            waiting.extend(_annotation_models(info.annotation))
            words = repr(info.annotation)
            if "float" in words or "Any" in words:
                admitting.add(f"{model.__name__}.{name}")
    assert admitting == {"DifferentialEntry.score", "EvidenceItem.value", "TraceEntry.matched"}


def test_nested_matched_values_are_read_as_text() -> None:
    """A matched value the check cannot see into (a list holding a small float) still gets
    Python's spelling."""
    result = evaluate(base_case(sleep_hours=5, stress_level=9))
    entry = result.trace[0].model_copy(update={"matched": {"sleep_hours": [1e-05]}})
    odd = result.model_copy(update={"trace": [entry, *result.trace[1:]]})
    assert "1e-05" in odd.to_json()
    assert odd.to_json() == _reference(odd, 2)
    assert odd.to_json(indent=None) == _reference(odd, None)


def test_pydantic_writes_every_character_as_json_dumps() -> None:
    """Each character (controls, quotes, backslash, DEL, U+2028, astral) is escaped by
    pydantic exactly as by json.dumps(ensure_ascii=False): the compact form joins pydantic's
    lines instead of passing its text through json.loads and json.dumps again."""
    every = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code < 0xE000)
    result = evaluate(base_case()).model_copy(update={"package_version": every})
    assert result.model_dump_json(by_alias=True, indent=2) == _reference(result, 2)
    assert result.to_json(indent=None) == _reference(result, None)


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
    pydantic writes them), and nothing else, and says each was set."""
    seen = 0
    for result in results:
        for model in _models(result):
            assert list(vars(model)) == list(type(model).model_fields), type(model).__name__
            assert model.model_fields_set == set(type(model).model_fields)
            seen += 1
    assert seen > len(results) * 10


def test_a_copy_does_not_change_the_shared_fields_set(results: list[Result]) -> None:
    """Models built by the conclusions share one fields set per class; copying one with an
    update leaves the others' sets as they were."""
    triage = results[0].triage
    other = results[-1].triage
    before = set(other.model_fields_set)
    copied = triage.model_copy(update={"level": "urgent"})
    assert copied.level == "urgent"
    assert other.model_fields_set == before
    assert copied.model_fields_set is not triage.model_fields_set
