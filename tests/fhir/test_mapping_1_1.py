"""FHIR R4 -> case for contract 1.1: sodium, CK and free T4 labs, seven medicine classes, pregnancy."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest

from twitchrules import Findings
from twitchrules.fhir import bundle_from_case, case_from_bundle, case_from_resources
from twitchrules.fhir.codes import load_data

from ..conftest import CASES_DIR

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
MEDICINES = ("beta2_agonist", "corticosteroid", "stimulant_medication",
             "cholinesterase_inhibitor", "diuretic", "proton_pump_inhibitor", "lithium")

CASE_11: dict[str, Any] = {
    "assessed_on": "2026-11-20",
    "patient": {"age": 31, "sex": "female"},
    "twitching": {"regions": [{"region": "calf", "side": "both", "since": "2026-10-01"}],
                  "course": "stable"},
    "findings": {"pregnant": True, "sodium_mmol_l": 128, "ck_u_l": 420, "free_t4_pmol_l": 14.2,
                 "beta2_agonist": True, "corticosteroid": True, "stimulant_medication": False,
                 "cholinesterase_inhibitor": True, "diuretic": True,
                 "proton_pump_inhibitor": True, "lithium": True, "metformin": True,
                 "potassium_mmol_l": 3.4, "diabetes": False},
}
"""A case with every contract 1.1 finding the EHR can hold (one medicine answered 'no')."""

OPTIONS = [dict(zip(("labs_as_observations", "history_as_resources"), flags, strict=True))
           for flags in itertools.product((False, True), repeat=2)]


def _base(**findings: Any) -> list[dict[str, Any]]:
    """The Patient and assessment of a case with only ``findings`` answered."""
    case = copy.deepcopy(CASE_11)
    case["findings"] = findings
    return [entry["resource"] for entry in bundle_from_case(case, patient_id="p1")["entry"]]


def _findings(*extra: dict[str, Any], **answered: Any) -> dict[str, Any]:
    """The findings that the base resources plus ``extra`` map to ({} if none)."""
    case = case_from_resources(_base(**answered) + list(extra), patient_id="p1").case
    assert case is not None
    found: dict[str, Any] = case.get("findings", {})
    return found


def _lab(code: str, value: float, unit: str, when: str = "2026-11-18", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": extra.pop("id", f"lab-{code}"),
            "status": extra.pop("status", "final"),
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": unit}, **extra}


def _request(concept: dict[str, Any] | None = None, *, kind: str = "MedicationRequest",
             status: str = "active", id: str = "m1", **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": kind, "id": id, "status": status,
                                "subject": {"reference": "Patient/p1"}, **extra}
    if kind == "MedicationRequest":
        resource["intent"] = "order"
    if concept is not None:
        resource["medicationCodeableConcept"] = concept
    return resource


def _rxnorm(code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": RXNORM, "code": code}
    if display is not None:
        coding["display"] = display
    return {"coding": [coding]}


def _condition(system: str, code: str, *, status: str = "active", id: str = "c1",
               **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": id, "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"code": status}]},
            "code": {"coding": [{"system": system, "code": code}]}, **extra}


# --- round trips -------------------------------------------------------------------------

@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(k for k, v in o.items() if v)
                         or "answers")
def test_contract_1_1_case_round_trips(options: dict[str, bool]) -> None:
    """A case with the 1.1 labs, medicines and pregnancy maps back to itself under every option."""
    bundle = bundle_from_case(CASE_11, patient_id="p1", **options)
    assert case_from_bundle(bundle).case == CASE_11


def test_bundle_writes_the_new_findings_as_the_ehr_does() -> None:
    """Labs become LOINC Observations, medicines RxNorm MedicationRequests, pregnancy a Condition."""
    bundle = bundle_from_case(CASE_11, patient_id="p1", labs_as_observations=True,
                              history_as_resources=True)
    resources = [entry["resource"] for entry in bundle["entry"]]
    labs = {r["code"]["coding"][0]["code"]: r["valueQuantity"]
            for r in resources if r["resourceType"] == "Observation"}
    assert labs["2951-2"]["code"] == "mmol/L" and labs["2951-2"]["value"] == 128
    assert labs["2157-6"]["code"] == "U/L" and labs["14920-3"]["code"] == "pmol/L"
    codes = {r["medicationCodeableConcept"]["coding"][0]["code"]
             for r in resources if r["resourceType"] == "MedicationRequest"}
    assert codes == {"435", "8638", "9000", "4603", "7646", "42351", "6809"}
    conditions = [r["code"]["coding"][0]["code"] for r in resources if r["resourceType"] == "Condition"]
    assert conditions == ["77386006"]  # diabetes: false stays an answer
    response = next(r for r in resources if r["resourceType"] == "QuestionnaireResponse")
    answered = {i["linkId"] for group in response["item"] for i in group.get("item", [])}
    assert {"findings.stimulant_medication", "findings.diabetes"} <= answered
    assert "findings.pregnant" not in answered


def _case_files() -> list[Any]:
    return sorted(CASES_DIR.glob("*.json"))


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(k for k, v in o.items() if v)
                         or "answers")
def test_every_case_file_round_trips_under_every_option(options: dict[str, bool]) -> None:
    """Every case file survives case -> FHIR -> case unchanged, whichever findings go to resources."""
    paths = _case_files()
    assert paths
    for path in paths:
        case = json.loads(path.read_text(encoding="utf-8"))["case"]
        if not case.get("findings"):
            case.pop("findings", None)  # no findings and empty findings mean the same
        bundle = bundle_from_case(case, **options)
        assert case_from_bundle(bundle).case == case, path.name


# --- laboratory values -------------------------------------------------------------------

def test_sodium_ck_and_free_t4_are_read() -> None:
    """Sodium 2951-2, CK 2157-6 and free T4 14920-3 fill the contract's three new lab findings."""
    found = _findings(_lab("2951-2", 131, "mmol/L"), _lab("2157-6", 950, "U/L"),
                      _lab("14920-3", 18.5, "pmol/L"))
    assert found == {"sodium_mmol_l": 131, "ck_u_l": 950, "free_t4_pmol_l": 18.5}


@pytest.mark.parametrize(("code", "value", "unit", "expected"), [
    ("3024-7", 1.2, "ng/dL", 15.444),     # x 12.87
    ("3024-7", 0.9, "ng/dl", 11.583),     # unit compared case-insensitively
    ("3024-7", 12.0, "ng/L", 15.444),     # 1 ng/L = 1.287 pmol/L
    ("3024-7", 12.0, "pg/mL", 15.444),
    ("14920-3", 15.444, "pmol/L", 15.444),
])
def test_free_t4_is_converted_to_pmol_per_litre(code: str, value: float, unit: str,
                                                 expected: float) -> None:
    """Free T4 in ng/dL (x 12.87), ng/L or pg/mL (x 1.287) is read in pmol/L."""
    assert _findings(_lab(code, value, unit))["free_t4_pmol_l"] == pytest.approx(expected)


def test_ck_in_microkatal_and_sodium_in_meq_are_converted() -> None:
    """CK in ukat/L (x 60) and sodium in mEq/L (x 1) are read in the contract units."""
    found = _findings(_lab("2157-6", 3.5, "ukat/L"), _lab("2951-2", 140, "mEq/L"))
    assert found == {"ck_u_l": 210.0, "sodium_mmol_l": 140}


def test_free_t4_in_an_unknown_unit_is_skipped() -> None:
    """A free T4 in a unit the list does not convert (e.g. nmol/L) is skipped with a note."""
    mapped = case_from_resources(_base() + [_lab("3024-7", 1.2, "nmol/L")], patient_id="p1")
    assert mapped.case is not None and "findings" not in mapped.case
    assert any("unit 'nmol/L'" in note for note in mapped.notes)


def test_newer_observation_beats_an_older_sodium_answer() -> None:
    """A sodium Observation newer than the questionnaire wins, as for the 1.0 labs."""
    found = _findings(_lab("2951-2", 119, "mmol/L", when="2026-11-21"), sodium_mmol_l=138)
    assert found["sodium_mmol_l"] == 119


def test_prefetch_asks_for_the_new_lab_codes() -> None:
    """The service's labs prefetch query names every lab code of the shipped list, new ones too."""
    from twitchrules.service.prefetch import prefetch_templates

    query = prefetch_templates()["labs"]
    for code in ("2951-2", "2157-6", "14920-3", "3024-7", "2823-3"):
        assert f"http://loinc.org|{code}" in query


# --- medicines ---------------------------------------------------------------------------

@pytest.mark.parametrize(("finding", "code"), [
    ("beta2_agonist", "435"), ("beta2_agonist", "25255"), ("corticosteroid", "8640"),
    ("corticosteroid", "6902"), ("stimulant_medication", "700810"),
    ("stimulant_medication", "6901"), ("cholinesterase_inhibitor", "135447"),
    ("cholinesterase_inhibitor", "9001"), ("diuretic", "2409"), ("diuretic", "5487"),
    ("proton_pump_inhibitor", "40790"), ("proton_pump_inhibitor", "283742"),
    ("lithium", "42351"), ("lithium", "52105"), ("lithium", "6448"),
])
def test_rxnorm_ingredient_code_sets_its_medicine(finding: str, code: str) -> None:
    """An active MedicationRequest coded with a listed RxNorm code (no display) sets its finding."""
    assert _findings(_request(_rxnorm(code))) == {finding: True}


@pytest.mark.parametrize(("text", "finding"), [
    ("Salbutamol 100 micrograms/dose inhaler", "beta2_agonist"),
    ("albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "beta2_agonist"),
    ("Prednisone 5 MG Oral Tablet", "corticosteroid"),
    ("Adderall (amphetamine aspartate / dextroamphetamine sulfate)", "stimulant_medication"),
    ("Dexamfetamine 5 mg tablets", "stimulant_medication"),
    ("Mestinon (pyridostigmine bromide) 60 MG", "cholinesterase_inhibitor"),
    ("Chlortalidone 25 mg tablets", "diuretic"),
    ("chlorthalidone 25 MG Oral Tablet", "diuretic"),
    ("Frusemide 40 mg tablets", "diuretic"),
    ("lisinopril 20 MG / hydrochlorothiazide 12.5 MG Oral Tablet", "diuretic"),
    ("PANTOPRAZOLE 40 MG DELAYED RELEASE TABLET", "proton_pump_inhibitor"),
    ("Lithium Carbonate 300 MG Oral Capsule", "lithium"),
])
def test_display_naming_an_ingredient_sets_its_medicine(text: str, finding: str) -> None:
    """A code display naming an ingredient (either spelling, any case, in a combination) counts."""
    concept = {"coding": [{"system": RXNORM, "code": "999999999", "display": text}]}
    assert _findings(_request(concept)) == {finding: True}


@pytest.mark.parametrize(("name", "finding"), [
    ("methamphetamine 5 MG Oral Tablet", "stimulant_medication"),
    ("dexmethylphenidate hydrochloride 10 MG", "stimulant_medication"),
    ("arformoterol 0.015 MG/ML Inhalation Solution", "beta2_agonist"),
    ("levalbuterol 0.63 MG in 3 ML Inhalation Solution", "beta2_agonist"),
    ("dexlansoprazole 30 MG Delayed Release Oral Capsule", "proton_pump_inhibitor"),
])
def test_neighbour_names_count_for_their_class(name: str, finding: str) -> None:
    """Substring matching catches neighbours on purpose: each is a member of the same class."""
    assert _findings(_request({"text": name})) == {finding: True}


def test_listed_neighbours_are_what_the_matcher_does() -> None:
    """Every neighbour the shipped list documents as counted is matched by its class, and only it."""
    for finding, spec in load_data("medications.json")["classes"].items():
        for neighbour, why in spec["neighbours"].items():
            assert why.startswith("counted"), (finding, neighbour)
            found = _findings(_request({"text": f"{neighbour} 10 MG Oral Tablet"}))
            assert found == {finding: True}, (finding, neighbour)


def test_one_combination_product_sets_every_class_it_names() -> None:
    """A budesonide/formoterol-style product naming two listed classes sets both findings."""
    text = "prednisolone 5 MG / salmeterol 0.05 MG (test combination)"
    assert _findings(_request({"text": text})) == {"corticosteroid": True, "beta2_agonist": True}


def test_medication_statement_counts_like_a_request() -> None:
    """An active MedicationStatement sets the finding just as an active MedicationRequest does."""
    statement = _request(_rxnorm("4603", "furosemide 40 MG Oral Tablet"), kind="MedicationStatement")
    request = _request(_rxnorm("4603", "furosemide 40 MG Oral Tablet"))
    assert _findings(statement) == _findings(request) == {"diuretic": True}
    mapped = case_from_resources(_base() + [statement], patient_id="p1")
    assert mapped.sources["findings.diuretic"] == "MedicationStatement/m1"


@pytest.mark.parametrize("status", ["stopped", "completed", "on-hold", "cancelled", "draft",
                                    "entered-in-error"])
def test_a_medication_not_active_does_not_count(status: str) -> None:
    """A stopped, completed or otherwise inactive medication leaves the finding unknown."""
    kind = "MedicationStatement" if status == "completed" else "MedicationRequest"
    assert _findings(_request(_rxnorm("42351", "lithium carbonate"), kind=kind,
                              status=status)) == {}


def test_an_order_not_to_give_does_not_count() -> None:
    """An active MedicationRequest with doNotPerform true (do not give) does not set the finding."""
    assert _findings(_request(_rxnorm("435", "albuterol"), doNotPerform=True)) == {}


def test_unrelated_medication_leaves_every_medicine_unknown() -> None:
    """A medication of no listed class sets nothing: the findings stay unknown, never false."""
    assert _findings(_request(_rxnorm("723", "amoxicillin 500 MG Oral Capsule"))) == {}


def test_referenced_medication_ingredient_codes_count() -> None:
    """A Medication referenced from the request counts by its ingredient codes, contained or not."""
    medication = {"resourceType": "Medication", "id": "med9",
                  "code": {"coding": [{"system": RXNORM, "code": "999999999"}]},
                  "ingredient": [{"itemCodeableConcept": _rxnorm("183379")}]}
    by_reference = _request(None, medicationReference={"reference": "Medication/med9"})
    assert _findings(by_reference, medication) == {"cholinesterase_inhibitor": True}
    contained = _request(None, contained=[{**medication, "id": "inline"}],
                         medicationReference={"reference": "#inline"})
    assert _findings(contained) == {"cholinesterase_inhibitor": True}


def test_record_overrides_an_answer_no_with_a_note() -> None:
    """An active lithium prescription sets lithium true over the questionnaire's 'no', noted."""
    mapped = case_from_resources(_base(lithium=False) + [_request(_rxnorm("42351"))],
                                 patient_id="p1")
    assert mapped.case is not None and mapped.case["findings"] == {"lithium": True}
    assert any("findings.lithium" in note and "'no'" in note for note in mapped.notes)


def test_metformin_keeps_working_through_the_shared_mechanism() -> None:
    """Metformin is recognised by code and by display exactly as before contract 1.1."""
    assert _findings(_request(_rxnorm("861007"))) == {"metformin": True}
    assert _findings(_request({"text": "Glucophage (metformin) 500 mg"})) == {"metformin": True}


# --- pregnancy ---------------------------------------------------------------------------

@pytest.mark.parametrize(("system", "code"), [
    (SNOMED, "77386006"),        # Pregnancy (finding)
    (SNOMED, "65147003"),        # Twin pregnancy
    (ICD10CM, "Z33.1"),          # Pregnant state, incidental
    (ICD10CM, "Z33.3"),          # gestational carrier
    (ICD10CM, "Z34.90"),         # supervision of normal pregnancy
    (ICD10CM, "Z3A.20"),         # 20 weeks gestation
    (ICD10CM, "O09.90"),         # supervision of high-risk pregnancy
    (ICD10CM, "O0990"),          # the same without its dot
    (ICD10CM, "o24.410"),        # gestational diabetes in pregnancy, lower case
    (ICD10CM, "O99.013"),        # anaemia complicating pregnancy, third trimester
    (ICD10CM, "O60.03"),         # preterm labour without delivery
    (ICD10, "Z33"),              # WHO: pregnant state, incidental
    (ICD10, "O24.4"),            # WHO: diabetes arising in pregnancy
])
def test_pregnancy_condition_sets_pregnant(system: str, code: str) -> None:
    """An active Condition coded as a current pregnancy gives findings.pregnant = true."""
    assert _findings(_condition(system, code)) == {"pregnant": True}


@pytest.mark.parametrize(("system", "code"), [
    (ICD10CM, "Z33.2"),          # encounter for elective termination of pregnancy
    (ICD10CM, "Z33"),            # the category alone: it includes Z33.2
    (ICD10CM, "O03.9"),          # complete spontaneous abortion
    (ICD10CM, "O00.10"),         # tubal pregnancy (abortive outcome)
    (ICD10CM, "O80"),            # encounter for full-term delivery
    (ICD10CM, "O60.14X0"),       # preterm labour with preterm delivery
    (ICD10CM, "O99.03"),         # anaemia complicating the puerperium
    (ICD10CM, "O24.42"),         # gestational diabetes in childbirth (O24.420)
    (ICD10CM, "O85"),            # puerperal sepsis
    (ICD10CM, "O92.3"),          # agalactia
    (ICD10CM, "Z32.02"),         # pregnancy test negative
    (ICD10, "O80"),              # WHO: single spontaneous delivery
    (ICD10, "O90.5"),            # WHO: postpartum thyroiditis
    (SNOMED, "38341003"),        # hypertensive disorder: unrelated
    (ICD10CM, "E11.9"),          # unrelated (diabetes only)
])
def test_codes_that_do_not_mean_a_current_pregnancy(system: str, code: str) -> None:
    """Z33.2, abortive outcomes, delivery, the puerperium and unrelated codes leave pregnant unknown."""
    assert "pregnant" not in _findings(_condition(system, code))


def test_unrelated_condition_and_no_condition_leave_pregnant_unknown() -> None:
    """No pregnancy record leaves pregnant unknown: never false."""
    assert _findings() == {}
    assert _findings(_condition(SNOMED, "195967001")) == {}  # asthma


@pytest.mark.parametrize("extra", [
    {"status": "resolved"},
    {"status": "inactive"},
    {"verificationStatus": {"coding": [{"code": "refuted"}]}},
    {"verificationStatus": {"coding": [{"code": "entered-in-error"}]}},
])
def test_a_pregnancy_condition_not_active_does_not_count(extra: dict[str, Any]) -> None:
    """A resolved, inactive, refuted or erroneous pregnancy Condition leaves pregnant unknown."""
    assert _findings(_condition(SNOMED, "77386006", **extra)) == {}


def test_pregnancy_of_another_patient_does_not_count() -> None:
    """A pregnancy Condition whose subject is another patient is not read."""
    other = _condition(SNOMED, "77386006", subject={"reference": "Patient/someone-else"})
    assert _findings(other) == {}


def test_pregnancy_and_diabetes_from_separate_conditions() -> None:
    """Diabetes and pregnancy Conditions each set their own finding."""
    found = _findings(_condition(ICD10CM, "Z34.00", id="c1"), _condition(ICD10CM, "E11.9", id="c2"))
    assert found == {"pregnant": True, "diabetes": True}


# --- the shipped lists -------------------------------------------------------------------

def _records() -> list[tuple[str, str, dict[str, Any]]]:
    """Every per-code record of the contract 1.1 lists: (list, code, record)."""
    records = []
    for finding, spec in load_data("medications.json")["classes"].items():
        records += [(finding, code, entry) for code, entry in spec["rxnorm"]["codes"].items()]
    pregnancy = load_data("pregnancy.json")
    records += [("pregnancy", code, entry) for code, entry in pregnancy["snomed"]["codes"].items()]
    for name in ("sodium", "creatine_kinase", "free_t4"):
        spec = load_data("labs.json")["analytes"][name]
        records += [(name, code, entry) for code, entry in spec["loinc"].items()]
    return records


def test_every_new_code_records_verification_and_its_source() -> None:
    """Each code of the 1.1 lists says verified or not, and a verified one names its source."""
    records = _records()
    assert len(records) > 90
    for where, code, entry in records:
        assert isinstance(entry["verified"], bool), (where, code)
        assert entry["display"], (where, code)
        if entry["verified"]:
            assert entry.get("source"), (where, code)


def test_medicine_lists_cover_the_contract() -> None:
    """Each contract medicine is a Findings field whose names include the contract's ingredients."""
    classes = load_data("medications.json")["classes"]
    assert tuple(classes) == MEDICINES
    contract = {
        "beta2_agonist": ["salbutamol", "albuterol", "terbutaline", "formoterol", "salmeterol"],
        "corticosteroid": ["prednisolone", "prednisone", "dexamethasone", "hydrocortisone",
                           "methylprednisolone"],
        "stimulant_medication": ["amphetamine", "dextroamphetamine", "lisdexamfetamine",
                                 "methylphenidate"],
        "cholinesterase_inhibitor": ["pyridostigmine", "neostigmine", "donepezil",
                                     "rivastigmine", "galantamine"],
        "diuretic": ["furosemide", "bumetanide", "hydrochlorothiazide", "chlortalidone",
                     "chlorthalidone", "indapamide"],
        "proton_pump_inhibitor": ["omeprazole", "esomeprazole", "lansoprazole", "pantoprazole",
                                  "rabeprazole"],
        "lithium": ["lithium"],
    }
    for finding, names in contract.items():
        assert finding in Findings.model_fields
        assert set(names) <= set(classes[finding]["display_contains"]), finding
    lithium = classes["lithium"]["rxnorm"]["codes"]
    assert {"42351", "52105", "6448"} <= set(lithium)


def test_pregnancy_rules_are_unambiguous_and_say_why() -> None:
    """Each ICD rule prefix appears once per system and every rule gives its reason."""
    data = load_data("pregnancy.json")
    for name in ("icd10cm", "icd10"):
        prefixes = [rule["prefix"].replace(".", "") for rule in data[name]["rules"]]
        assert len(prefixes) == len(set(prefixes)), name
        assert all(rule["why"] and rule["display"] for rule in data[name]["rules"])
    excluded = {rule["prefix"] for rule in data["icd10cm"]["rules"] if not rule["pregnant"]}
    assert {"Z33.2", "O00", "O03", "O80", "O85"} <= excluded


def test_docs_list_every_shipped_lab_and_ingredient_code() -> None:
    """The CDS Hooks page lists every lab LOINC code and every medicine ingredient code read."""
    from ..conftest import ROOT

    page = (ROOT / "docs" / "cds-hooks.md").read_text(encoding="utf-8")
    section = page[page.index("## What is read from the EHR"):page.index("## Prefetch")]
    for spec in load_data("labs.json")["analytes"].values():
        for code in spec["loinc"]:
            assert code in section, code
    for finding, spec in load_data("medications.json")["classes"].items():
        assert f"`{finding}`" in section
        for code, entry in spec["rxnorm"]["codes"].items():
            if entry["tty"] == "IN":
                assert f"{code} " in section, (finding, code)
    for words in ("77386006", "Z33.1", "Z33.2", "O00-O08", "O85-O92"):
        assert words in section, words
