"""Case: the first stage of the pipeline, from what a caller sends to the facts rules match.

``vocabulary`` holds the contract's words; ``model`` the strict pydantic ``Case``;
``reading`` turns JSON text or a mapping into a ``Case`` (or a ``CaseError`` naming every
field); ``records`` reads one line of a JSON-lines cases file (a case, or ``{"id", "case"}``)
the same way for ``batch`` and ``verify``; ``facts`` turns a ``Case`` into the flat facts of
one evaluation; ``synthetic`` draws seeded valid cases for tests and benchmarks.

May import: ``twitchrules.errors`` only. Nothing here knows about rulesets, engines or
outputs (``facts`` takes the ruleset's prepared ``FactDefinitions`` as plain data).
"""

from .facts import COUNTERS, FactDefinitions, FactSpec, FactValue, build_facts, fact_catalogue
from .model import Case, Findings, Patient, RegionEntry, Twitching
from .reading import case_from_json, case_from_mapping, format_location

__all__ = [
    "COUNTERS",
    "Case",
    "FactDefinitions",
    "FactSpec",
    "FactValue",
    "Findings",
    "Patient",
    "RegionEntry",
    "Twitching",
    "build_facts",
    "case_from_json",
    "case_from_mapping",
    "fact_catalogue",
    "format_location",
]
