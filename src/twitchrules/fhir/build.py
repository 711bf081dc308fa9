"""Case -> FHIR R4 resources: the inverse of the mapping, for examples, tests and benchmarks.

An EHR holds a completed assessment as a Patient, a QuestionnaireResponse of the shipped
Questionnaire, and perhaps lab Observations, diabetes and pregnancy Conditions and
MedicationRequests (metformin and the contract 1.1 medicine classes).
:func:`bundle_from_case` writes a case in that shape so that
``case_from_bundle(bundle_from_case(case))`` gives the case back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from twitchrules.fhir.codes import LOINC, SNOMED, lab_analytes, medicine_classes
from twitchrules.fhir.questionnaire import CODE_SYSTEM_URL, QUESTIONNAIRE_URL, item_types

# Each lab finding is written with the first LOINC code listed for it, in the contract unit.
_LAB_CODES = {analyte.finding: code for code, analyte in reversed(lab_analytes().items())}
_LAB_UNITS = {analyte.finding: analyte.unit for analyte in lab_analytes().values()}
# Each medicine finding is written as a MedicationRequest with the first code listed for it.
_MEDICINE_CODINGS = {medicine.finding: medicine.first for medicine in medicine_classes()}
_CONDITION_CODINGS = {
    "diabetes": (SNOMED, "44054006", "Type 2 diabetes mellitus"),
    "pregnant": (SNOMED, "77386006", "Pregnancy"),
}


def _answer(link_id: str, value: Any) -> dict[str, Any]:
    item_type = item_types()[link_id]
    if item_type == "choice":
        answer = {"valueCoding": {"system": CODE_SYSTEM_URL, "code": value}}
    elif item_type == "boolean":
        answer = {"valueBoolean": value}
    elif item_type == "integer":
        answer = {"valueInteger": value}
    elif item_type == "decimal":
        answer = {"valueDecimal": value}
    else:
        answer = {"valueDate": value}
    return {"linkId": link_id, "answer": [answer]}


def _birth_date(age: int, assessed_on: dt.date) -> str:
    # Born on 1 January: the age on any day of the assessment year is exactly ``age``.
    return dt.date(assessed_on.year - age, 1, 1).isoformat()


def bundle_from_case(
    case: Mapping[str, Any],
    *,
    patient_id: str = "example",
    labs_as_observations: bool = False,
    history_as_resources: bool = False,
) -> dict[str, Any]:
    """Return a FHIR R4 collection Bundle that holds ``case`` (a contract case dict).

    Args:
        case: the case, in the contract's JSON shape.
        patient_id: the Patient's id, which every other resource refers to.
        labs_as_observations: write lab findings as LOINC-coded Observations dated
            ``assessed_on`` instead of questionnaire answers.
        history_as_resources: write ``diabetes: true`` and ``pregnant: true`` as active
            Conditions, and ``true`` for a medicine finding (``metformin`` and the contract
            1.1 classes, e.g. ``beta2_agonist``) as an active MedicationRequest coded with
            the class's first RxNorm ingredient, instead of answers.
    """
    assessed_on = dt.date.fromisoformat(case["assessed_on"])
    subject = {"reference": f"Patient/{patient_id}"}
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_id,
        "birthDate": _birth_date(case["patient"]["age"], assessed_on),
    }
    if "sex" in case["patient"]:
        patient["gender"] = case["patient"]["sex"]
    extra: list[dict[str, Any]] = []

    twitching = case["twitching"]
    twitching_items: list[dict[str, Any]] = [
        {
            "linkId": "twitching.regions",
            "item": [
                _answer(f"twitching.regions.{name}", region[name])
                for name in ("region", "side", "since")
                if name in region
            ],
        }
        for region in twitching["regions"]
    ]
    for name in ("course", "relieved_by_rest"):
        if name in twitching:
            twitching_items.append(_answer(f"twitching.{name}", twitching[name]))

    finding_items = []
    for name, value in case.get("findings", {}).items():
        if labs_as_observations and name in _LAB_CODES:
            extra.append(_observation(name, value, assessed_on, subject, len(extra)))
        elif history_as_resources and name in _CONDITION_CODINGS and value is True:
            extra.append(_condition(_CONDITION_CODINGS[name], subject, len(extra)))
        elif history_as_resources and name in _MEDICINE_CODINGS and value is True:
            extra.append(_medication_request(_MEDICINE_CODINGS[name], subject, len(extra)))
        else:
            finding_items.append(_answer(f"findings.{name}", value))

    items = [
        _answer("assessed_on", case["assessed_on"]),
        {"linkId": "twitching", "item": twitching_items},
    ]
    if finding_items:
        items.append({"linkId": "findings", "item": finding_items})
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": f"{patient_id}-assessment",
        "questionnaire": QUESTIONNAIRE_URL,
        "status": "completed",
        "subject": subject,
        "authored": f"{assessed_on.isoformat()}T09:00:00Z",
        "item": items,
    }
    entries = [patient, response, *extra]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{resource['resourceType'].lower()}-{resource['id']}",
             "resource": resource}
            for resource in entries
        ],
    }


def _observation(
    finding: str, value: float, on: dt.date, subject: dict[str, str], index: int
) -> dict[str, Any]:
    code = _LAB_CODES[finding]
    unit = _LAB_UNITS[finding]
    return {
        "resourceType": "Observation",
        "id": f"lab-{index}",
        "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory",
        }]}],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": subject,
        "effectiveDateTime": on.isoformat(),
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org",
                          "code": unit},
    }


def _coding(coding: tuple[str, str, str]) -> dict[str, str]:
    system, code, display = coding
    return {"system": system, "code": code, "display": display}


def _condition(coding: tuple[str, str, str], subject: dict[str, str], index: int) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"condition-{index}",
        "clinicalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active",
        }]},
        "code": {"coding": [_coding(coding)]},
        "subject": subject,
    }


def _medication_request(
    coding: tuple[str, str, str], subject: dict[str, str], index: int
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"medication-{index}",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [_coding(coding)]},
        "subject": subject,
    }
