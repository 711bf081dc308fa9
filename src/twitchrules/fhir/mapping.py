"""FHIR R4 -> case: read one person's assessment from FHIR resources into a contract case dict.

The rules are those of ``shared/contract/fhir.md``: the most recently authored completed or
amended QuestionnaireResponse of the shipped Questionnaire gives the case; the Patient gives
age (from a partial birthDate, the youngest age it allows) and sex; recent laboratory
Observations, active diabetes and pregnancy Conditions and active medications of the
contract's medicine classes (metformin and, from contract 1.1, the seven others) fill
findings. Nothing found leaves a finding unknown, never false.

Resources are parsed with fhir.resources' R4B models (they fit R4 data); one that does not
parse raises :class:`FhirResourceError` naming its type, id and field. The output is a plain
dict; validating it is the case model's job.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from twitchrules.case.reading import JsonProblem, check_document
from twitchrules.case.vocabulary import SEXES
from twitchrules.fhir.codes import (
    LOINC,
    MedicineClass,
    is_diabetes_code,
    is_pregnancy_code,
    lab_analytes,
    medicine_classes,
)
from twitchrules.fhir.errors import FhirResourceError
from twitchrules.fhir.questionnaire import QUESTIONNAIRE_URL, answer_codes, item_types

READ_TYPES = frozenset(
    {
        "Patient",
        "QuestionnaireResponse",
        "Observation",
        "Condition",
        "MedicationRequest",
        "MedicationStatement",
        "Medication",
    }
)
"""Resource types the mapping reads; any other type is ignored."""

QR_STATUSES = frozenset({"completed", "amended"})
OBSERVATION_STATUSES = frozenset({"final", "amended", "corrected"})
DEFAULT_LAB_MAX_AGE_DAYS = 90
_ANSWER_KEYS = {
    "boolean": "valueBoolean",
    "decimal": "valueDecimal",
    "integer": "valueInteger",
    "date": "valueDate",
    "choice": "valueCoding",
}


@dataclass
class MappedCase:
    """What a set of FHIR resources maps to: the case (None if no assessment) and its sources."""

    case: dict[str, Any] | None
    patient_id: str | None = None
    questionnaire_response_id: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    """Case field path -> the resource it came from, e.g. ``"Condition/c1"``."""
    notes: list[str] = field(default_factory=list)
    """Resources skipped and why; ids and field names only, never clinical values."""


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("function-after", "function-before", "function-wrap"):
            path += f".{part}" if path else str(part)
    return path or "(resource)"


def parse_resource(raw: Any, *, shape_checked: bool = False) -> Any:
    """Return ``raw`` (FHIR R4 JSON) parsed as its R4B model, or raise FhirResourceError.

    ``shape_checked``: ``raw`` comes from ``parse_json`` (or ``check_document``), which has
    already refused nesting too deep and duplicate keys, so the walk is not repeated.
    """
    if not isinstance(raw, Mapping):
        raise FhirResourceError(None, None, "(resource)", "is not a JSON object")
    resource_type = raw.get("resourceType")
    resource_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    if not isinstance(resource_type, str):
        raise FhirResourceError(None, resource_id, "resourceType", "is missing")
    if not shape_checked:
        _check_shape(raw, resource_type, resource_id)
    try:
        model_class = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        raise FhirResourceError(
            resource_type, resource_id, "resourceType", "is not an R4 resource type"
        ) from None
    try:
        return model_class.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise FhirResourceError(
            resource_type, resource_id, _field_path(tuple(first["loc"])), first["msg"]
        ) from None


def _check_shape(raw: Mapping[str, Any], resource_type: str | None, resource_id: Any) -> None:
    """Refuse a resource nested deeper than JSON allows here, before any recursive parser sees it."""
    try:
        check_document(raw)
    except JsonProblem as problem:
        raise FhirResourceError(resource_type, resource_id if isinstance(resource_id, str) else None,
                                problem.location or "(resource)", problem.message) from None


def resources_in(container: Any, *, shape_checked: bool = False) -> list[dict[str, Any]]:
    """Return the resources of a Bundle's entries, or ``[container]`` for a single resource.

    ``shape_checked``: as for ``parse_resource`` (the container came from ``parse_json``).
    """
    if container is None:
        return []
    if not isinstance(container, Mapping):
        raise FhirResourceError(None, None, "(resource)", "is not a JSON object")
    if not shape_checked:
        resource_type = container.get("resourceType")
        _check_shape(container, resource_type if isinstance(resource_type, str) else None,
                     container.get("id"))
    return _resources_in(container)


def _resources_in(container: Mapping[str, Any]) -> list[dict[str, Any]]:
    if container.get("resourceType") != "Bundle":
        return [dict(container)]
    entries = container.get("entry", [])
    if not isinstance(entries, list):
        raise FhirResourceError("Bundle", container.get("id"), "entry", "is not a list")
    found = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if resource is None:
            continue
        if not isinstance(resource, Mapping):
            raise FhirResourceError(
                "Bundle", container.get("id"), f"entry[{index}].resource", "is not a JSON object"
            )
        found.extend(_resources_in(resource))  # a nested Bundle (e.g. a searchset) is flattened
    return found


def _ref(resource: Any) -> str:
    return f"{resource.get_resource_type()}/{resource.id or '?'}"


def _as_date(value: Any) -> dt.date | None:
    """Return a date for a FHIR date/dateTime value (partial dates count from their start)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    parts = text[:10].split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 1
        day = int(parts[2]) if len(parts) > 2 else 1
        return dt.date(year, month, day)
    except (ValueError, IndexError):
        return None


def _as_instant(value: Any) -> dt.datetime | None:
    """Return an aware datetime for ordering; a bare date counts as its start in UTC."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    day = _as_date(value)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc) if day else None


_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([^/]+)(?:/_history/[^/]+)?$")
"""A reference to a Patient: ``Patient/<id>``, an absolute URL ending so, or either versioned."""


def _reference_text(reference: Any) -> str | None:
    text = getattr(reference, "reference", None)
    return str(text).rstrip("/") if text else None


def _patient_id_of(text: str | None) -> str | None:
    """The Patient id a reference names, or None (no reference, or one to another type)."""
    found = _PATIENT_REFERENCE.search(text) if text else None
    return found.group(1) if found else None


def _number(value: Any) -> int | float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    number: int | float = value
    return number


class _AnswerReader:
    """Reads one QuestionnaireResponse's raw items into case fields, type-checked strictly."""

    def __init__(self, response_raw: Mapping[str, Any], response_id: str | None) -> None:
        self.response_id = response_id
        self.types = item_types()
        self.codes = answer_codes()
        self.fields: dict[str, Any] = {}
        self.regions: list[dict[str, Any]] = []
        # linkId -> path of its answered item: no item of ours repeats, so a second answer
        # (in the same group or in a repeated group) is refused, never silently kept.
        self._answered_at: dict[str, str] = {}
        self._read_items(response_raw.get("item", []), "item")

    def _error(self, path: str, message: str) -> FhirResourceError:
        return FhirResourceError(
            "QuestionnaireResponse", self.response_id, path, message, kind="unusable"
        )

    def _answer(self, item: Mapping[str, Any], path: str,
                answered_at: dict[str, str] | None = None) -> Any:
        link_id = item["linkId"]
        answers = item.get("answer") or []
        if not answers:
            return None
        answered_at = self._answered_at if answered_at is None else answered_at
        if link_id in answered_at:
            raise self._error(
                path, f"item '{link_id}' is answered more than once (first at "
                      f"{answered_at[link_id]}); it does not repeat")
        answered_at[link_id] = path
        if len(answers) > 1:
            raise self._error(f"{path}.answer", f"item '{link_id}' takes one answer")
        answer = answers[0]
        item_type = self.types[link_id]
        key = _ANSWER_KEYS[item_type]
        present = [name for name in answer if name.startswith("value")]
        if item_type == "decimal" and present == ["valueInteger"]:
            key = "valueInteger"  # an integer is a valid decimal
        if present != [key]:
            raise self._error(
                f"{path}.answer[0]", f"item '{link_id}' ({item_type}) needs {key}"
            )
        value = answer[key]
        if item_type == "boolean" and not isinstance(value, bool):
            raise self._error(f"{path}.answer[0].{key}", "is not true or false")
        if item_type in ("decimal", "integer") and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise self._error(f"{path}.answer[0].{key}", "is not a number")
        if item_type == "choice":
            code = value.get("code") if isinstance(value, Mapping) else None
            if code not in self.codes[link_id]:
                raise self._error(
                    f"{path}.answer[0].valueCoding.code",
                    f"'{code}' is not an answer of item '{link_id}'",
                )
            return code
        return value

    def _read_items(self, items: Any, path: str) -> None:
        for index, item in enumerate(items or []):
            item_path = f"{path}[{index}]"
            link_id = item.get("linkId")
            if link_id == "twitching.regions":
                self.regions.append(self._read_region(item.get("item", []), f"{item_path}.item"))
                continue
            item_type = self.types.get(link_id)
            if item_type is None:
                continue  # items of other forms or extensions are not ours to read
            if item_type == "group":
                self._read_items(item.get("item", []), f"{item_path}.item")
                continue
            if link_id.startswith("twitching.regions."):
                raise self._error(item_path, f"item '{link_id}' belongs in a regions group")
            value = self._answer(item, item_path)
            if value is not None:
                self.fields[link_id] = value

    def _read_region(self, items: Any, path: str) -> dict[str, Any]:
        region: dict[str, Any] = {}
        answered_at: dict[str, str] = {}  # each regions group answers its own items once
        for index, item in enumerate(items or []):
            link_id = item.get("linkId", "")
            if not link_id.startswith("twitching.regions."):
                continue
            value = self._answer(item, f"{path}[{index}]", answered_at)
            if value is not None:
                region[link_id.rsplit(".", 1)[1]] = value
        return region


def _age_on(birth_date: dt.date, on: dt.date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def _latest_birth_day(value: Any) -> dt.date | None:
    """The last day a FHIR birthDate allows: 31 December of a year, the month's last day."""
    if isinstance(value, dt.date):
        return value
    parts = str(value).split("-")
    try:
        year = int(parts[0])
        if len(parts) == 1:
            return dt.date(year, 12, 31)
        month = int(parts[1])
        return dt.date(year, month, calendar.monthrange(year, month)[1])
    except (ValueError, IndexError):
        return None


def _youngest_age(birth_date: Any, on: dt.date) -> int | None:
    """The age on ``on`` of the latest birth day that ``birth_date`` allows (None: no date).

    A partial birthDate (``2008``, ``2008-12``) leaves two ages possible; the younger one is
    taken, so an adolescent who may be 17 is never given as 18 (the notice for under 18, the
    adult-only advice and the infant rules all err on the careful side with the younger age).
    """
    earliest, latest = _as_date(birth_date), _latest_birth_day(birth_date)
    if earliest is None or latest is None:
        return None
    if earliest <= on < latest:  # born this month or year, by the assessment date
        latest = on
    return _age_on(latest, on)


def _select_patient(patients: list[Any], patient_id: str | None) -> Any | None:
    if patient_id is not None:
        return next((p for p in patients if p.id == patient_id), None)
    return patients[0] if len(patients) == 1 else None


def _belongs(resource: Any, attribute: str, patient_id: str | None) -> bool:
    """Whether ``resource`` may be the patient's: no subject reference, or ``Patient/<id>``.

    A subject of another type (``Group/p1``) is not the patient's, whatever its id.
    """
    text = _reference_text(getattr(resource, attribute, None))
    return patient_id is None or text is None or _patient_id_of(text) == patient_id


def _observation_time(observation: Any) -> Any:
    period = getattr(observation, "effectivePeriod", None)
    return (
        observation.effectiveDateTime
        or observation.effectiveInstant
        or (period.start if period else None)
        or observation.issued
    )


def _codings(concept: Any) -> list[Any]:
    return list(getattr(concept, "coding", None) or [])


def _is_active_condition(condition: Any) -> bool:
    clinical = {c.code for c in _codings(condition.clinicalStatus)}
    verification = {c.code for c in _codings(condition.verificationStatus)}
    return "active" in clinical and not verification & {"refuted", "entered-in-error"}


CONDITION_FINDINGS = (("diabetes", is_diabetes_code), ("pregnant", is_pregnancy_code))
"""(finding, code test): an active Condition coded in the shipped list sets the finding true."""


def _medication_terms(
    medication: Any, medications: dict[str, Any]
) -> tuple[list[tuple[str | None, str | None]], list[str | None]]:
    """The (system, code) pairs and display texts that name what a request or statement is for.

    They come from its medicationCodeableConcept, the reference's display, and the referenced
    Medication (contained ``#id`` or another resource of the set): its code and its
    ingredients' itemCodeableConcepts.
    """
    concepts: list[Any] = []
    texts: list[str | None] = []
    if medication.medicationCodeableConcept is not None:
        concepts.append(medication.medicationCodeableConcept)
    reference = medication.medicationReference
    if reference is not None:
        texts.append(reference.display)
        target_ref = reference.reference or ""
        if target_ref.startswith("#"):
            target = next((c for c in medication.contained or []
                           if c.get_resource_type() == "Medication" and c.id == target_ref[1:]),
                          None)
        else:
            target = medications.get(target_ref.rsplit("/", 1)[-1])
        if target is not None:
            if target.code is not None:
                concepts.append(target.code)
            concepts.extend(ingredient.itemCodeableConcept for ingredient in target.ingredient or []
                            if ingredient.itemCodeableConcept is not None)
    pairs: list[tuple[str | None, str | None]] = []
    for concept in concepts:
        texts.append(concept.text)
        for coding in _codings(concept):
            pairs.append((coding.system, coding.code))
            texts.append(coding.display)
    return pairs, texts


def _names(medicine: MedicineClass, pairs: list[tuple[str | None, str | None]],
           texts: list[str | None]) -> bool:
    return any(medicine.names(system, code) for system, code in pairs) or medicine.names(
        None, None, texts)


def _set_true(findings: dict[str, Any], name: str, resource: Any, mapped: MappedCase) -> None:
    """Set findings[name] = true from ``resource``, noting when it overrides an answer 'no'."""
    if findings.get(name) is False:
        mapped.notes.append(f"{_ref(resource)}: sets findings.{name} true over the answer 'no'")
    findings[name] = True
    mapped.sources[f"findings.{name}"] = _ref(resource)


def case_from_resources(
    raw_resources: Iterable[Mapping[str, Any]],
    *,
    patient_id: str | None = None,
    lab_max_age_days: int = DEFAULT_LAB_MAX_AGE_DAYS,
    shape_checked: bool = False,
) -> MappedCase:
    """Return the case that one patient's FHIR R4 resources map to (case None if no assessment).

    ``shape_checked``: the resources come from ``parse_json`` (see ``parse_resource``).
    """
    parsed: dict[str, list[tuple[Any, Mapping[str, Any]]]] = {name: [] for name in READ_TYPES}
    for raw in raw_resources:
        resource_type = raw.get("resourceType") if isinstance(raw, Mapping) else None
        if isinstance(resource_type, str) and resource_type in READ_TYPES:
            parsed[resource_type].append((parse_resource(raw, shape_checked=shape_checked), raw))
        elif not isinstance(resource_type, str):
            parse_resource(raw, shape_checked=shape_checked)  # raises with the problem named
    mapped = MappedCase(case=None, patient_id=patient_id)

    responses = []
    for response, raw in parsed["QuestionnaireResponse"]:
        canonical = (response.questionnaire or "").split("|", 1)[0]
        if canonical != QUESTIONNAIRE_URL or response.status not in QR_STATUSES:
            continue
        if not _belongs(response, "subject", patient_id):
            mapped.notes.append(f"{_ref(response)}: skipped, its subject is another patient")
            continue
        responses.append((response, raw))
    if not responses:
        return mapped
    oldest = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    response, raw = max(responses, key=lambda pair: _as_instant(pair[0].authored) or oldest)
    response_ref = _ref(response)
    mapped.questionnaire_response_id = response.id
    if patient_id is None:
        patient_id = _patient_id_of(_reference_text(response.subject))
        mapped.patient_id = patient_id
    answers = _AnswerReader(raw, response.id)
    fields = answers.fields

    assessed_on = fields.pop("assessed_on", None)
    if assessed_on is None:
        authored = _as_date(response.authored)
        if authored is None:
            raise FhirResourceError(
                "QuestionnaireResponse", response.id, "authored",
                "is needed when item 'assessed_on' is unanswered", kind="unusable",
            )
        assessed_on = authored.isoformat()
    assessed_date = _as_date(assessed_on)
    answered_at = _as_instant(response.authored) or _as_instant(assessed_on)

    case: dict[str, Any] = {"assessed_on": assessed_on, "patient": {}, "twitching": {}}
    sources = mapped.sources
    sources["assessed_on"] = response_ref

    patient = _select_patient([p for p, _ in parsed["Patient"]], patient_id)
    if patient is None:
        raise FhirResourceError(
            "Patient", patient_id, "(resource)", "no Patient resource found", kind="unusable"
        )
    mapped.patient_id = patient.id
    if assessed_date is None or (age := _youngest_age(patient.birthDate, assessed_date)) is None:
        raise FhirResourceError(
            "Patient", patient.id, "birthDate", "is needed for patient.age", kind="unusable"
        )
    if not isinstance(patient.birthDate, dt.date):
        mapped.notes.append(f"{_ref(patient)}: birthDate is partial: patient.age is the "
                            "youngest age it allows")
    case["patient"]["age"] = age
    sources["patient.age"] = _ref(patient)
    if patient.gender in SEXES:
        case["patient"]["sex"] = patient.gender
        sources["patient.sex"] = _ref(patient)

    twitching = case["twitching"]
    twitching["regions"] = answers.regions
    for name in ("course", "relieved_by_rest"):
        if f"twitching.{name}" in fields:
            twitching[name] = fields.pop(f"twitching.{name}")
    sources["twitching"] = response_ref
    findings: dict[str, Any] = {}
    for link_id, value in fields.items():
        if link_id.startswith("findings."):
            name = link_id.removeprefix("findings.")
            findings[name] = _number(value) if isinstance(value, int | float) else value
            sources[link_id] = response_ref

    _read_labs(parsed["Observation"], patient.id, assessed_date, answered_at,
               lab_max_age_days, findings, mapped)
    found: set[str] = set()
    for condition, _ in parsed["Condition"]:
        if not _belongs(condition, "subject", patient.id) or not _is_active_condition(condition):
            continue
        for name, is_code in CONDITION_FINDINGS:
            if name not in found and any(is_code(c.system, c.code)
                                         for c in _codings(condition.code)):
                _set_true(findings, name, condition, mapped)
                found.add(name)
    medications = {m.id: m for m, _ in parsed["Medication"] if m.id}
    for kind in ("MedicationRequest", "MedicationStatement"):
        for medication, _ in parsed[kind]:
            if medication.status != "active" or not _belongs(medication, "subject", patient.id):
                continue
            if getattr(medication, "doNotPerform", None) is True:
                continue  # an order not to give the medicine
            pairs, texts = _medication_terms(medication, medications)
            for medicine in medicine_classes():
                if medicine.finding not in found and _names(medicine, pairs, texts):
                    _set_true(findings, medicine.finding, medication, mapped)
                    found.add(medicine.finding)
    if findings:
        case["findings"] = findings
    mapped.case = case
    return mapped


def _read_labs(
    observations: list[tuple[Any, Mapping[str, Any]]],
    patient_id: str | None,
    assessed_on: dt.date,
    answered_at: dt.datetime | None,
    max_age_days: int,
    findings: dict[str, Any],
    mapped: MappedCase,
) -> None:
    """Fill lab findings from the most recent usable Observation per analyte."""
    analytes = lab_analytes()
    earliest = assessed_on - dt.timedelta(days=max_age_days)
    latest: dict[str, tuple[dt.datetime, float, str]] = {}
    for observation, _ in observations:
        analyte = next(
            (analytes[c.code] for c in _codings(observation.code)
             if c.system == LOINC and c.code in analytes),
            None,
        )
        if analyte is None or observation.status not in OBSERVATION_STATUSES:
            continue
        ref = _ref(observation)
        if not _belongs(observation, "subject", patient_id):
            mapped.notes.append(f"{ref}: skipped, its subject is another patient")
            continue
        when = _as_instant(_observation_time(observation))
        if when is None:
            mapped.notes.append(f"{ref}: skipped, it has no effective date")
            continue
        if when.date() < earliest:
            mapped.notes.append(f"{ref}: skipped, older than {max_age_days} days")
            continue
        quantity = observation.valueQuantity
        if quantity is None or quantity.value is None:
            mapped.notes.append(f"{ref}: skipped, it has no valueQuantity")
            continue
        unit = quantity.code or quantity.unit or ""
        value = analyte.to_contract_unit(float(quantity.value), unit)
        if value is None and quantity.unit:
            value = analyte.to_contract_unit(float(quantity.value), quantity.unit)
        if value is None:
            mapped.notes.append(f"{ref}: skipped, unit '{unit}' is not one this analyte accepts")
            continue
        current = latest.get(analyte.finding)
        if current is None or when > current[0]:
            latest[analyte.finding] = (when, round(value, 4), ref)
    for finding, (when, value, ref) in latest.items():
        answered = finding in findings
        if answered and answered_at is not None and when <= answered_at:
            continue  # the questionnaire's value is at least as recent
        findings[finding] = value
        mapped.sources[f"findings.{finding}"] = ref


def case_from_bundle(
    bundle: Mapping[str, Any],
    *,
    patient_id: str | None = None,
    lab_max_age_days: int = DEFAULT_LAB_MAX_AGE_DAYS,
) -> MappedCase:
    """Return the case that a FHIR R4 Bundle (or a single resource) maps to."""
    # resources_in checked the whole Bundle's shape: its resources need no second walk.
    return case_from_resources(
        resources_in(bundle), patient_id=patient_id, lab_max_age_days=lab_max_age_days,
        shape_checked=True,
    )
