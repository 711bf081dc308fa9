"""The shipped FHIR R4 Questionnaire of the case contract, and the item types it declares."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from twitchrules.fhir.codes import load_data
from twitchrules.version import __version__

QUESTIONNAIRE_URL = "http://twitchrules.org/fhir/Questionnaire/twitching-assessment"
"""Canonical URL of the assessment Questionnaire (an identifier; it need not resolve)."""

CODE_SYSTEM_URL = "http://twitchrules.org/fhir/CodeSystem/case-values"
"""The package's own code system for the Questionnaire's coded answers (the contract's words)."""


@lru_cache(maxsize=1)
def _questionnaire() -> dict[str, Any]:
    questionnaire: dict[str, Any] = load_data("questionnaire.json")
    questionnaire["version"] = __version__
    return questionnaire


def load_questionnaire() -> dict[str, Any]:
    """Return the assessment Questionnaire as FHIR R4 JSON, its version set to the package's."""
    return copy.deepcopy(_questionnaire())


def _walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from _walk(item.get("item", []))


@lru_cache(maxsize=1)
def item_types() -> dict[str, str]:
    """Return each Questionnaire item's FHIR type keyed by linkId."""
    return {item["linkId"]: item["type"] for item in _walk(_questionnaire()["item"])}


@lru_cache(maxsize=1)
def answer_codes() -> dict[str, frozenset[str]]:
    """Return the allowed answer codes of each coded (choice) item keyed by linkId."""
    return {
        item["linkId"]: frozenset(opt["valueCoding"]["code"] for opt in item["answerOption"])
        for item in _walk(_questionnaire()["item"])
        if item["type"] == "choice"
    }
