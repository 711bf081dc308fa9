"""twitchrules: clinical decision support for muscle twitching, every answer traced to its rule.

Public API::

    from twitchrules import Case, evaluate, load_ruleset

    result = evaluate({"assessed_on": "2026-11-20", "patient": {"age": 42}, ...})
    print(result.triage.level, result.to_json())

The package tree is the pipeline: ``case`` -> ``engine`` -> ``conclusions`` -> ``outputs``,
with ``ruleset`` beside it and ``cli``, ``service``, ``fhir``, ``population`` (batch and
impact replay of many cases) and ``explain`` (why, why not, what if) on top (see docs/architecture.md).
"""

from .case import Case, Findings, Patient, RegionEntry, Twitching, case_from_json, case_from_mapping
from .conclusions import Result
from .engine import available_engines, default_engine
from .errors import CaseError, EngineError, ReplayError, RulesetError, TwitchrulesError
from .explain import Explanation, NextQuestions, explain, next_questions
from .pipeline import evaluate
from .population import BatchSummary, ImpactReport, batch, cohort_cases, impact
from .ruleset import Rule, Ruleset, is_valid_ruleset, load_ruleset
from .version import __version__

__all__ = [
    "BatchSummary",
    "Case",
    "CaseError",
    "EngineError",
    "Explanation",
    "Findings",
    "ImpactReport",
    "NextQuestions",
    "Patient",
    "RegionEntry",
    "ReplayError",
    "Result",
    "Rule",
    "Ruleset",
    "RulesetError",
    "Twitching",
    "TwitchrulesError",
    "__version__",
    "available_engines",
    "batch",
    "case_from_json",
    "case_from_mapping",
    "cohort_cases",
    "default_engine",
    "evaluate",
    "explain",
    "impact",
    "is_valid_ruleset",
    "load_ruleset",
    "next_questions",
]
