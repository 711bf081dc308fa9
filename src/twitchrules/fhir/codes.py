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


def load_data(name: str) -> Any:
    """Return the parsed JSON data file ``name`` shipped in ``twitchrules/fhir/data``."""
    text = (resources.files("twitchrules.fhir") / "data" / name).read_text(encoding="utf-8")
    return json.loads(text)


@dataclass(frozen=True)
class LabAnalyte:
    """One laboratory analyte of the contract: the finding it fills and how to convert units."""

    analyte: str
    finding: str
    loinc: dict[str, str]
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
        analyte = LabAnalyte(name, spec["finding"], dict(spec["loinc"]), units)
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


@lru_cache(maxsize=1)
def _metformin() -> tuple[dict[str, frozenset[str]], tuple[str, ...]]:
    data = load_data("metformin.json")
    codes = {
        data["rxnorm"]["system"]: frozenset(data["rxnorm"]["codes"]),
        data["snomed"]["system"]: frozenset(data["snomed"]["codes"]),
    }
    return codes, tuple(word.lower() for word in data["display_contains"])


def is_metformin(system: str | None, code: str | None, texts: Iterable[str | None] = ()) -> bool:
    """Return True if a medication coding or any of its display texts names metformin."""
    codes, words = _metformin()
    if system and code and code in codes.get(system, frozenset()):
        return True
    return any(text and any(word in text.lower() for word in words) for text in texts)


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
    return [test for test in orderable_tests() if test.matches(test_words)]
