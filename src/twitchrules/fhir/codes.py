"""Code lists shipped with the package: the terminology that the mapping and cards match.

Every list is a JSON file in ``twitchrules/fhir/data/`` so that reviewers can read and amend
it without touching code; no terminology server is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"


def load_data(name: str) -> Any:
    """Return the parsed JSON data file ``name`` shipped in ``twitchrules/fhir/data``."""
    text = (resources.files("twitchrules.fhir") / "data" / name).read_text(encoding="utf-8")
    return json.loads(text)


@dataclass(frozen=True)
class LabAnalyte:
    """One laboratory analyte of the contract: the finding it fills and how to convert units."""

    analyte: str
    finding: str
    unit: str  # the contract's unit, as a UCUM code
    loinc: dict[str, str]  # code -> display
    units: dict[str, float]  # lower-cased unit -> factor to the contract unit

    def to_contract_unit(self, value: float, unit: str) -> float | None:
        """Return ``value`` converted from ``unit`` to the contract unit, or None if unknown."""
        factor = self.units.get(unit.strip().lower())
        if factor is None:
            return None
        return value * factor


@dataclass(frozen=True)
class OrderableTest:
    """One orderable test: the words that name it and the code a ServiceRequest carries."""

    id: str
    text: str
    patterns: tuple[re.Pattern[str], ...]
    category: dict[str, str]
    coding: dict[str, str] | None
    verified: bool

    def matches(self, test_words: str) -> bool:
        """Return True if the differential's test words name this test."""
        lowered = test_words.lower()
        return any(pattern.search(lowered) for pattern in self.patterns)


@lru_cache(maxsize=1)
def lab_analytes() -> dict[str, LabAnalyte]:
    """Return the lab analytes keyed by LOINC code."""
    data = load_data("labs.json")
    by_code: dict[str, LabAnalyte] = {}
    for name, spec in data["analytes"].items():
        units: dict[str, float] = {}
        for unit, conversion in spec["units"].items():
            factor = 1.0 / conversion["divide"] if isinstance(conversion, dict) else conversion
            units[unit.lower()] = float(factor)
        loinc = {
            code: entry if isinstance(entry, str) else entry["display"]
            for code, entry in spec["loinc"].items()
        }
        analyte = LabAnalyte(name, spec["finding"], spec["unit"], loinc, units)
        for code in spec["loinc"]:
            by_code[code] = analyte
    return by_code


@lru_cache(maxsize=1)
def _diabetes() -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    data = load_data("diabetes.json")
    snomed = frozenset(data["snomed"]["codes"])
    prefixes = {
        data["icd10cm"]["system"]: tuple(data["icd10cm"]["prefixes"]),
        data["icd10"]["system"]: tuple(data["icd10"]["prefixes"]),
    }
    return snomed, prefixes


def is_diabetes_code(system: str | None, code: str | None) -> bool:
    """Return True if (system, code) is one of the shipped diabetes mellitus codes."""
    if not system or not code:
        return False
    snomed, prefixes = _diabetes()
    if system == SNOMED:
        return code in snomed
    icd_prefixes = prefixes.get(system)
    return icd_prefixes is not None and code.upper().startswith(icd_prefixes)


@dataclass(frozen=True)
class MedicineClass:
    """One medicine finding of the contract and how a medication is recognised as one of it."""

    finding: str
    codes: dict[str, frozenset[str]]  # code system -> codes
    words: tuple[str, ...]  # lower-cased names; a display text containing one counts
    first: tuple[str, str, str]  # (system, code, display) listed first: what an example writes

    def names(self, system: str | None, code: str | None, texts: Iterable[str | None] = ()) -> bool:
        """Return True if the coding (system, code) or any of ``texts`` names this medicine."""
        if system and code and code in self.codes.get(system, frozenset()):
            return True
        return any(text and any(word in text.lower() for word in self.words) for text in texts)


def _medicine_class(finding: str, spec: dict[str, Any]) -> MedicineClass:
    """A medicine class from its shipped spec: code blocks (``{"system", "codes"}``) and words."""
    blocks = [block for block in spec.values()
              if isinstance(block, dict) and "system" in block and "codes" in block]
    codes = {block["system"]: frozenset(block["codes"]) for block in blocks}
    code, entry = next(iter(blocks[0]["codes"].items()))
    return MedicineClass(finding, codes, tuple(word.lower() for word in spec["display_contains"]),
                         (blocks[0]["system"], code, entry["display"]))


@lru_cache(maxsize=1)
def medicine_classes() -> tuple[MedicineClass, ...]:
    """Return the medicine findings read from medications: metformin, then the contract 1.1 ones."""
    classes = [_medicine_class("metformin", load_data("metformin.json"))]
    for finding, spec in load_data("medications.json")["classes"].items():
        classes.append(_medicine_class(finding, spec))
    return tuple(classes)


def is_metformin(system: str | None, code: str | None, texts: Iterable[str | None] = ()) -> bool:
    """Return True if a medication coding or any of its display texts names metformin."""
    return medicine_classes()[0].names(system, code, texts)


def _icd_key(code: str) -> str:
    return code.strip().upper().replace(".", "")


@lru_cache(maxsize=1)
def _pregnancy() -> tuple[frozenset[str], dict[str, dict[str, bool]]]:
    data = load_data("pregnancy.json")
    rules = {
        data[name]["system"]: {_icd_key(rule["prefix"]): bool(rule["pregnant"])
                               for rule in data[name]["rules"]}
        for name in ("icd10cm", "icd10")
    }
    return frozenset(data["snomed"]["codes"]), rules


def is_pregnancy_code(system: str | None, code: str | None) -> bool:
    """Return True if (system, code) means a current pregnancy in the shipped list.

    SNOMED CT codes are listed one by one. An ICD-10-CM or WHO ICD-10 code is decided by the
    rule with the longest prefix it starts with (compared without its dot): the list says
    which parts of the pregnancy chapter (abortive outcomes, delivery, the puerperium,
    Z33.2) do not mean a current pregnancy, and a code no rule matches does not either.
    """
    if not system or not code:
        return False
    snomed, rules = _pregnancy()
    if system == SNOMED:
        return code.strip() in snomed
    prefixes = rules.get(system)
    if prefixes is None:
        return False
    key = _icd_key(code)
    for length in range(len(key), 0, -1):
        decided = prefixes.get(key[:length])
        if decided is not None:
            return decided
    return False


@lru_cache(maxsize=1)
def orderable_tests() -> tuple[OrderableTest, ...]:
    """Return the orderable tests, in the order the shipped list gives them."""
    data = load_data("tests.json")
    return tuple(
        OrderableTest(
            id=entry["id"],
            text=entry["text"],
            patterns=tuple(re.compile(pattern) for pattern in entry["patterns"]),
            category=entry["category"],
            coding=entry["coding"],
            verified=entry["verified"],
        )
        for entry in data["entries"]
    )


def orderables_for(test_words: str) -> list[OrderableTest]:
    """Return the orderable tests that the differential's test words name (possibly none)."""
    return list(_orderables_named(test_words))


@lru_cache(maxsize=1024)
def _orderables_named(test_words: str) -> tuple[OrderableTest, ...]:
    # A ruleset names few distinct test words, and every card asks for them again.
    return tuple(test for test in orderable_tests() if test.matches(test_words))
