"""Case -> FHIR R4 resources: the inverse of the mapping, for examples, tests and benchmarks.

An EHR holds a completed assessment as a Patient, a QuestionnaireResponse of the shipped
Questionnaire, and perhaps lab Observations, a diabetes Condition and a metformin
MedicationRequest. :func:`bundle_from_case` writes a case in that shape so that
``case_from_bundle(bundle_from_case(case))`` gives the case back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from twitchrules.fhir.codes import LOINC, RXNORM, SNOMED, lab_analytes
from twitchrules.fhir.questionnaire import CODE_SYSTEM_URL, QUESTIONNAIRE_URL, item_types

_LAB_CODES = {analyte.finding: code for code, analyte in reversed(lab_analytes().items())}
_LAB_UNITS = {
    "potassium_mmol_l": "mmol/L",
    "magnesium_mmol_l": "mmol/L",
    "calcium_mmol_l": "mmol/L",
    "b12_pmol_l": "pmol/L",
    "tsh_miu_l": "m[IU]/L",
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
        history_as_resources: write ``diabetes: true`` as an active Condition and
            ``metformin: true`` as an active MedicationRequest instead of answers.
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
        elif history_as_resources and name == "diabetes" and value is True:
            extra.append(_diabetes_condition(subject, len(extra)))
        elif history_as_resources and name == "metformin" and value is True:
            extra.append(_metformin_request(subject, len(extra)))
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


def _diabetes_condition(subject: dict[str, str], index: int) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"condition-{index}",
        "clinicalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active",
        }]},
        "code": {"coding": [{"system": SNOMED, "code": "44054006",
                             "display": "Type 2 diabetes mellitus"}]},
        "subject": subject,
    }


def _metformin_request(subject: dict[str, str], index: int) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"medication-{index}",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "6809",
                                                  "display": "metformin"}]},
        "subject": subject,
    }
