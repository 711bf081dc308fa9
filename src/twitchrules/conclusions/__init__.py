"""Conclusions: an engine run -> the contract result (triage, differential, checklist, advice,
missing information, trace), each part in its own module, assembled by ``build_result``.

``result`` holds the output models of the contract; ``firing`` the one object every part
reads (ruleset, facts, firing record).

May import: ``twitchrules.case``, ``twitchrules.ruleset``, ``twitchrules.engine`` (for the
firing record's type and the per-ruleset cache). Knows nothing of output formats, FHIR or HTTP.
"""

from .assemble import build_result
from .firing import Firing
from .result import (
    Checklist,
    ChecklistItem,
    DifferentialEntry,
    EngineInfo,
    EvidenceItem,
    MissingInput,
    Notice,
    Recommendation,
    Result,
    RulesetInfo,
    TraceEntry,
    Triage,
    finding_in_words,
)

__all__ = [
    "Checklist",
    "ChecklistItem",
    "DifferentialEntry",
    "EngineInfo",
    "EvidenceItem",
    "Firing",
    "MissingInput",
    "Notice",
    "Recommendation",
    "Result",
    "RulesetInfo",
    "TraceEntry",
    "Triage",
    "build_result",
    "finding_in_words",
]
