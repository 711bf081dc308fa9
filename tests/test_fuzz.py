"""Property-based fuzzing (issue 17): the case model, the JSON reader and the FHIR reader.

Each target gets hostile input from Hypothesis, built from valid cases by mutation (values
swapped for hostile ones: subnormal and huge numbers, NaN, strings, deep lists; keys dropped
or added; JSON text edited byte by byte). The properties: nothing but the documented error
escapes (``CaseError``, ``FhirResourceError``, ``JsonProblem``), and whatever is accepted
evaluates, with the same result on both engines.

The budget is fixed and the examples derandomised, so CI runs the same examples every time
(``EXAMPLES`` per target). ``TWITCHRULES_FUZZ_EXAMPLES=5000`` runs more, with fresh random
examples each run, for a longer hunt. The CDS Hooks endpoint is fuzzed by schemathesis in
``tests/service/test_schemathesis.py``.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twitchrules import CaseError, case_from_json, case_from_mapping, evaluate
from twitchrules.case.reading import JsonProblem, parse_json
from twitchrules.engine import available_engines
from twitchrules.fhir import FhirResourceError, case_from_resources

from .service.hookdata import resources_for
from .strategies import cases

_ASKED = int(os.environ.get("TWITCHRULES_FUZZ_EXAMPLES", "0"))
EXAMPLES = _ASKED or 60
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not _ASKED,
                suppress_health_check=list(HealthCheck))
ENGINES = available_engines()

SPECIAL_NUMBERS = [5e-324, 1e-320, -4e-310, 2.2250738585072014e-308, 1e-05, 5e-05, -0.0, 1e308,
                   float("inf"), float("-inf"), float("nan"), 10**40, 10**400, -1, 0, 2**63]
hostile_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(),
    st.floats(min_value=-1e-300, max_value=1e-300), st.sampled_from(SPECIAL_NUMBERS),
    st.text(max_size=20),
    st.sampled_from(["yes", "", "2026-02-30", "2026-11-20T00:00:00", "calf", "left", "unknown"]),
)
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=6,
)


def slots(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of a JSON-like document, containers first."""
    found: list[tuple[Any, Any]] = []
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.extend((node, key) for key in node)
            stack.extend(node.values())
        elif isinstance(node, list):
            found.extend((node, index) for index in range(len(node)))
            stack.extend(node)
    return found


@st.composite
def mutated(draw: st.DrawFn, document: Any, names: list[str]) -> Any:
    """``document`` with one to three mutations: a value replaced, a key dropped, a key added."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        places = slots(document)
        if not places:
            break
        container, key = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if action == "replace":
            container[key] = draw(hostile_values)
        elif action == "drop":
            del container[key]
        elif isinstance(container, dict):
            container[draw(st.sampled_from(names) | st.text(max_size=12))] = draw(hostile_values)
        else:
            container.append(draw(hostile_values))
    return document


CASE_WORDS = ["weakness", "sleep_hours", "potassium_mmol_l", "regions", "since", "age", "course",
              "findings", "twitching", "patient", "assessed_on", "weaknes"]


def without_engine(result: Any) -> dict[str, Any]:
    """The result's JSON without the engine block (the one part that names the engine)."""
    data = json.loads(result.model_dump_json(by_alias=True))
    data.pop("engine")
    return data


def check_accepted(case: Any) -> None:
    """An accepted case evaluates on every engine, with one result."""
    results = [without_engine(evaluate(case, engine=engine)) for engine in ENGINES]
    assert all(result == results[0] for result in results)


@FUZZ
@given(data=st.data())
def test_fuzz_case_model(data: st.DataObject) -> None:
    """Mutated cases: a Case (then the engines agree) or a CaseError naming fields; nothing else."""
    case = data.draw(mutated(data.draw(cases()), CASE_WORDS))
    try:
        checked = case_from_mapping(case)
    except CaseError as error:
        assert error.problems and all(isinstance(loc, str) and msg for loc, msg in error.problems)
        return
    check_accepted(checked)


EDIT_CHARS = '{}[]",:0123456789eE.-+ \\u\x00\xe9\ufeffnullfalsetrueNaN'


@st.composite
def edited_json(draw: st.DrawFn) -> bytes:
    """A valid case's JSON text with a few characters inserted, deleted or replaced."""
    text = json.dumps(draw(cases()))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["insert", "delete", "replace", "nest"]))
        chunk = draw(st.text(alphabet=EDIT_CHARS, min_size=1, max_size=4))
        if how == "insert":
            text = text[:where] + chunk + text[where:]
        elif how == "delete":
            text = text[:where] + text[where + 1:]
        elif how == "replace":
            text = text[:where] + chunk + text[where + 1:]
        else:
            depth = draw(st.sampled_from([2, 63, 64, 65, 1000]))
            text = text[:where] + "[" * depth + "]" * depth + text[where:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(raw=st.one_of(edited_json(), st.binary(max_size=64)))
def test_fuzz_json_reader(raw: bytes) -> None:
    """Edited JSON text and random bytes: parse_json raises only JsonProblem; cases only CaseError."""
    try:
        parse_json(raw)
    except JsonProblem as problem:
        assert problem.message
    try:
        checked = case_from_json(raw)
    except CaseError as error:
        assert error.problems
        return
    check_accepted(checked)


FHIR_WORDS = ["linkId", "answer", "item", "valueDecimal", "valueBoolean", "valueCoding", "code",
              "resourceType", "subject", "birthDate", "status", "valueQuantity", "value", "entry"]


@st.composite
def mutated_resources(draw: st.DrawFn) -> list[Any]:
    """A valid case's FHIR resources, mutated (values, keys, whole resources)."""
    resources = resources_for(draw(cases()), "p1")
    return draw(mutated(resources, FHIR_WORDS))


@FUZZ
@given(resources=mutated_resources())
def test_fuzz_fhir_reader(resources: list[Any]) -> None:
    """Mutated FHIR resources: a mapped case or FhirResourceError; the case then Case or CaseError."""
    try:
        mapped = case_from_resources(resources, patient_id="p1")
    except FhirResourceError as error:
        assert error.problems
        return
    if mapped.case is None:
        return
    try:
        checked = case_from_mapping(mapped.case)
    except CaseError:
        return
    check_accepted(checked)
