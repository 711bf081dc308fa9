"""FHIR R4 -> case mapping, the shipped Questionnaire and the code lists."""

from __future__ import annotations

import copy
import datetime
import json
import typing
from typing import Any

import pytest

from twitchrules import CaseError, Findings, case_from_mapping, evaluate
from twitchrules.fhir import (
    QUESTIONNAIRE_URL,
    FhirResourceError,
    bundle_from_case,
    case_from_bundle,
    case_from_resources,
    load_questionnaire,
    orderables_for,
)

from ..conftest import CASES_DIR

CASE: dict[str, Any] = {
    "assessed_on": "2026-11-20",
    "patient": {"age": 42, "sex": "male"},
    "twitching": {
        "regions": [{"region": "forearm", "side": "right", "since": "2026-08-20"},
                    {"region": "thigh", "side": "left", "since": "2026-11-01"}],
        "course": "worsening",
        "relieved_by_rest": False,
    },
    "findings": {"weakness": True, "caffeine_mg_per_day": 500, "sleep_hours": 6.5,
                 "potassium_mmol_l": 3.1, "diabetes": True, "metformin": True,
                 "lifestyle_trial_outcome": "unchanged"},
}


def _resources(**options: Any) -> list[dict[str, Any]]:
    bundle = bundle_from_case(CASE, patient_id="p1", **options)
    return [entry["resource"] for entry in bundle["entry"]]


def _lab(code: str, value: float, unit: str, when: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": extra.pop("id", f"lab-{code}-{when}"),
            "status": extra.pop("status", "final"),
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": unit}, **extra}


@pytest.mark.parametrize("options", [
    {}, {"labs_as_observations": True, "history_as_resources": True},
])
def test_round_trip_gives_the_case_back(options) -> None:
    """A case written as FHIR resources maps back to the same case."""
    mapped = case_from_bundle(bundle_from_case(CASE, patient_id="p1", **options))
    assert mapped.case == CASE
    assert mapped.patient_id == "p1"
    assert mapped.questionnaire_response_id == "p1-assessment"


@pytest.mark.parametrize("path", sorted(CASES_DIR.glob("*.json")),
                         ids=lambda p: p.stem)
def test_every_case_file_round_trips(path) -> None:
    """Every clinical case file survives case -> FHIR -> case unchanged."""
    case = json.loads(path.read_text(encoding="utf-8"))["case"]
    if not case.get("findings"):
        case.pop("findings", None)  # no findings and empty findings mean the same
    bundle = bundle_from_case(case, labs_as_observations=True, history_as_resources=True)
    assert case_from_bundle(bundle).case == case


def test_unanswered_stays_unknown() -> None:
    """Questions left unanswered and no records leave findings absent, never false."""
    case = copy.deepcopy(CASE)
    case["findings"] = {}
    mapped = case_from_bundle(bundle_from_case(case, patient_id="p1"))
    assert "findings" not in mapped.case


def test_mass_units_are_converted() -> None:
    """Magnesium and calcium in mg/dL and B12 in pg/mL are converted to the contract units."""
    labs = [_lab("19123-9", 2.0, "mg/dL", "2026-11-10"), _lab("17861-6", 9.0, "mg/dL",
            "2026-11-10"), _lab("2132-9", 271.0, "pg/mL", "2026-11-10")]
    findings = case_from_resources(_resources() + labs, patient_id="p1").case["findings"]
    assert findings["magnesium_mmol_l"] == pytest.approx(0.8228)
    assert findings["calcium_mmol_l"] == pytest.approx(2.2455)
    assert findings["b12_pmol_l"] == pytest.approx(200.0)


def test_old_unknown_unit_and_preliminary_labs_are_skipped() -> None:
    """Labs older than 90 days, in an unknown unit, or not final are not read."""
    labs = [_lab("3016-3", 9.0, "m[IU]/L", "2026-01-01"),
            _lab("2601-3", 1.0, "furlongs", "2026-11-10"),
            _lab("14685-2", 80.0, "pmol/L", "2026-11-10", status="preliminary")]
    mapped = case_from_resources(_resources(), patient_id="p1")
    with_labs = case_from_resources(_resources() + labs, patient_id="p1")
    assert with_labs.case == mapped.case
    assert any("older than 90 days" in note for note in with_labs.notes)
    assert any("unit 'furlongs'" in note for note in with_labs.notes)


def test_newer_observation_beats_the_questionnaire() -> None:
    """A lab Observation newer than the questionnaire wins; an older one does not."""
    newer = case_from_resources(_resources() + [_lab("2823-3", 3.9, "mmol/L", "2026-11-21")],
                                patient_id="p1")
    assert newer.case["findings"]["potassium_mmol_l"] == 3.9
    assert newer.sources["findings.potassium_mmol_l"].startswith("Observation/")
    older = case_from_resources(_resources() + [_lab("2823-3", 3.9, "mmol/L", "2026-11-01")],
                                patient_id="p1")
    assert older.case["findings"]["potassium_mmol_l"] == 3.1


def test_most_recent_lab_per_analyte_wins() -> None:
    """Of two potassium results the most recent is read."""
    case = copy.deepcopy(CASE)
    del case["findings"]["potassium_mmol_l"]
    resources = [entry["resource"] for entry in bundle_from_case(case, patient_id="p1")["entry"]]
    labs = [_lab("2823-3", 3.0, "mmol/L", "2026-11-01"), _lab("6298-4", 4.2, "mmol/L",
            "2026-11-15")]
    mapped = case_from_resources(resources + labs, patient_id="p1")
    assert mapped.case["findings"]["potassium_mmol_l"] == 4.2


@pytest.mark.parametrize(("system", "code"), [
    ("http://hl7.org/fhir/sid/icd-10-cm", "E11.9"),
    ("http://hl7.org/fhir/sid/icd-10", "E14"),
    ("http://snomed.info/sct", "73211009"),
])
def test_active_diabetes_condition_sets_diabetes(system, code) -> None:
    """An active Condition coded as diabetes gives findings.diabetes = true."""
    case = copy.deepcopy(CASE)
    case["findings"] = {}
    resources = [entry["resource"] for entry in bundle_from_case(case, patient_id="p1")["entry"]]
    condition = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
                 "clinicalStatus": {"coding": [{"code": "active"}]},
                 "code": {"coding": [{"system": system, "code": code}]}}
    assert case_from_resources(resources + [condition]).case["findings"] == {"diabetes": True}
    resolved = {**condition, "clinicalStatus": {"coding": [{"code": "resolved"}]}}
    assert "findings" not in case_from_resources(resources + [resolved]).case


def test_metformin_by_display_and_by_statement() -> None:
    """A MedicationStatement whose text names metformin gives findings.metformin = true."""
    case = copy.deepcopy(CASE)
    case["findings"] = {}
    resources = [entry["resource"] for entry in bundle_from_case(case, patient_id="p1")["entry"]]
    statement = {"resourceType": "MedicationStatement", "id": "m1", "status": "active",
                 "subject": {"reference": "Patient/p1"},
                 "medicationCodeableConcept": {"text": "Metformin 500 mg tablets"}}
    assert case_from_resources(resources + [statement]).case["findings"] == {"metformin": True}
    stopped = {**statement, "status": "stopped"}
    assert "findings" not in case_from_resources(resources + [stopped]).case


def test_latest_completed_response_wins_and_drafts_are_ignored() -> None:
    """Of several responses the most recently authored completed/amended one is read."""
    resources = _resources()
    older = copy.deepcopy(resources[1])
    older.update(id="old", authored="2026-10-01T09:00:00Z")
    draft = copy.deepcopy(resources[1])
    draft.update(id="draft", status="in-progress", authored="2026-12-01T09:00:00Z")
    mapped = case_from_resources([older, *resources, draft], patient_id="p1")
    assert mapped.questionnaire_response_id == "p1-assessment"
    other_form = copy.deepcopy(resources[1])
    other_form["questionnaire"] = "http://example.org/Questionnaire/other"
    assert case_from_resources([resources[0], other_form]).case is None


def test_assessed_on_defaults_to_authored_date() -> None:
    """Without an assessed_on answer the date of authored is used."""
    resources = _resources()
    resources[1]["item"] = [i for i in resources[1]["item"] if i["linkId"] != "assessed_on"]
    resources[1]["authored"] = "2026-11-19T23:00:00Z"
    assert case_from_resources(resources).case["assessed_on"] == "2026-11-19"


def test_invalid_resource_names_type_id_and_field() -> None:
    """A resource that does not parse raises FhirResourceError naming type, id and field."""
    resources = _resources()
    resources[0]["birthDate"] = "not-a-date"
    with pytest.raises(FhirResourceError, match=r"Patient/p1\.birthDate") as raised:
        case_from_resources(resources)
    assert raised.value.kind == "invalid"
    assert raised.value.exit_code == 2


def test_strict_answer_types() -> None:
    """A boolean item answered with a string is refused, naming the item."""
    resources = _resources()
    findings = next(i for i in resources[1]["item"] if i["linkId"] == "findings")
    findings["item"][0]["answer"] = [{"valueBoolean": "yes"}]
    with pytest.raises(FhirResourceError, match="is not true or false") as raised:
        case_from_resources(resources)
    assert raised.value.resource == "QuestionnaireResponse/p1-assessment"
    assert raised.value.kind in ("invalid", "unusable")


def _findings_group(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return next(i for i in resources[1]["item"] if i["linkId"] == "findings")


def _boolean_item(link_id: str, value: bool) -> dict[str, Any]:
    return {"linkId": link_id, "answer": [{"valueBoolean": value}]}


@pytest.mark.parametrize("second", [False, True], ids=["conflicting", "agreeing"])
def test_an_item_answered_twice_in_its_group_is_refused(second: bool) -> None:
    """A findings item answered twice is refused naming its linkId, as the service maps it."""
    resources = _resources()
    _findings_group(resources)["item"] += [_boolean_item("findings.breathing_difficulty", True),
                                           _boolean_item("findings.breathing_difficulty", second)]
    with pytest.raises(FhirResourceError,
                       match="item 'findings.breathing_difficulty' is answered more than once"
                       ) as raised:
        case_from_resources(resources, patient_id="p1", shape_checked=True)
    # "unusable" is what the service answers with its not-evaluated card (not a 400).
    assert raised.value.kind == "unusable"
    assert raised.value.exit_code == 2


def test_an_item_answered_again_in_a_second_group_is_refused() -> None:
    """A second findings group cannot override an answer of the first."""
    resources = _resources()
    _findings_group(resources)["item"].append(_boolean_item("findings.breathing_difficulty", True))
    resources[1]["item"].append(
        {"linkId": "findings", "item": [_boolean_item("findings.breathing_difficulty", False)]})
    with pytest.raises(FhirResourceError, match=r"item\[3\]\.item\[0\]: item "
                       r"'findings.breathing_difficulty' is answered more than once") as raised:
        case_from_resources(resources, patient_id="p1", shape_checked=True)
    assert raised.value.kind == "unusable"


def test_an_item_answered_twice_in_one_region_is_refused() -> None:
    """Each regions group answers its items once; several groups each answer them."""
    resources = _resources()
    twitching = next(i for i in resources[1]["item"] if i["linkId"] == "twitching")
    region = next(i for i in twitching["item"] if i["linkId"] == "twitching.regions")
    side = next(i for i in region["item"] if i["linkId"] == "twitching.regions.side")
    region["item"].append(copy.deepcopy(side))
    with pytest.raises(FhirResourceError, match="item 'twitching.regions.side' is answered "
                                                "more than once"):
        case_from_resources(resources, patient_id="p1", shape_checked=True)


@pytest.mark.parametrize(("birth_date", "age", "under_18"), [
    ("2008", 17, True),  # born in 2008: 17 or 18 on 2026-11-20, so 17
    ("2008-12", 17, True),
    ("2008-11", 17, True),  # born 1-30 November: 18 or 17
    ("2008-10", 18, False),  # 18 whatever the day
    ("2008-11-20", 18, False),
    ("2008-11-21", 17, True),
    ("2026", 0, True),  # born this year, by the assessment date
])
def test_partial_birth_date_gives_the_youngest_age(birth_date: str, age: int,
                                                   under_18: bool) -> None:
    """A year or year-month birthDate gives the youngest age it allows; a full date its age."""
    resources = _resources()
    resources[0]["birthDate"] = birth_date
    mapped = case_from_resources(resources, patient_id="p1", shape_checked=True)
    assert mapped.case["assessed_on"] == "2026-11-20"
    assert mapped.case["patient"]["age"] == age
    partial = len(birth_date) < 10
    assert any("birthDate is partial" in note for note in mapped.notes) is partial
    notices = {notice.code for notice in evaluate(mapped.case).notices}
    assert ("outside-intended-population" in notices) is under_18


def test_qualifier_contradicting_its_parent_is_refused_from_fhir() -> None:
    """Answers 'no weakness' and 'progressive weakness' map to a case the contract refuses."""
    resources = _resources()
    findings = _findings_group(resources)["item"]
    weakness = next(i for i in findings if i["linkId"] == "findings.weakness")
    weakness["answer"] = [{"valueBoolean": False}]
    findings.append(_boolean_item("findings.weakness_progressive", True))
    mapped = case_from_resources(resources, patient_id="p1", shape_checked=True)
    # The service validates the mapped case so, and answers a CaseError with its
    # not-evaluated card.
    with pytest.raises(CaseError, match=r"findings\.weakness_progressive: true contradicts "
                                        r"findings\.weakness: false"):
        case_from_mapping(mapped.case)


def test_missing_birth_date_is_unusable() -> None:
    """A Patient without birthDate cannot give patient.age."""
    resources = _resources()
    del resources[0]["birthDate"]
    with pytest.raises(FhirResourceError, match="birthDate") as raised:
        case_from_resources(resources)
    assert raised.value.kind == "unusable"


def test_questionnaire_covers_every_finding_with_its_type() -> None:
    """The Questionnaire has one item per contract finding, typed as the contract types it."""
    questionnaire = load_questionnaire()
    assert questionnaire["resourceType"] == "Questionnaire"
    assert questionnaire["status"] == "active"
    assert questionnaire["url"] == QUESTIONNAIRE_URL
    findings_group = next(i for i in questionnaire["item"] if i["linkId"] == "findings")
    items = {i["linkId"].removeprefix("findings."): i["type"] for i in findings_group["item"]}
    assert set(items) == set(Findings.model_fields)
    for name, field in Findings.model_fields.items():
        kinds = {
            typing.get_args(t)[0] if typing.get_origin(t) is typing.Annotated else t
            for t in typing.get_args(field.annotation) if t is not type(None)
        } or {field.annotation}
        if any(typing.get_origin(kind) is typing.Literal for kind in kinds):
            assert items[name] == "choice", name
        elif kinds == {bool}:
            assert items[name] == "boolean", name
        elif kinds == {datetime.date}:
            assert items[name] == "date", name
        else:
            assert kinds <= {int, float}, name
            assert items[name] in ("integer", "decimal"), name


def test_questionnaire_parses_as_fhir() -> None:
    """The shipped Questionnaire is valid FHIR (R4B model)."""
    from fhir.resources.R4B.questionnaire import Questionnaire

    assert Questionnaire.model_validate(load_questionnaire()).id == "twitching-assessment"


@pytest.mark.parametrize(("words", "expected"), [
    ("EMG and nerve conduction studies", {"emg", "ncs"}),
    ("TSH and free T4", {"tsh", "free-t4"}),
    ("CK", {"ck"}),
    ("B12", {"b12"}),
    ("Lyme serology", {"lyme-serology"}),
    ("Clinical follow-up", set()),
])
def test_test_words_map_to_orderable_tests(words, expected) -> None:
    """The differential's test words map to the shipped orderable tests."""
    assert {test.id for test in orderables_for(words)} == expected
