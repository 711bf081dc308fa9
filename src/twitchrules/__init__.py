"""twitchrules: clinical decision support for muscle twitching, every answer traced to its rule.

Public API::

    from twitchrules import Case, evaluate, load_ruleset

    result = evaluate({"assessed_on": "2026-11-20", "patient": {"age": 42}, ...})
    print(result.triage.level, result.to_json())

The package tree is the pipeline: ``case`` -> ``engine`` -> ``conclusions`` -> ``outputs``,
with ``ruleset`` beside it and ``cli``, ``service``, ``fhir``, ``population`` (batch and
impact replay of many cases) and ``explain`` (why, why not, what if) on top (see docs/architecture.md).
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .case import Case, Findings, Patient, RegionEntry, Twitching, case_from_json, case_from_mapping
from .conclusions import Result
from .engine import available_engines, default_engine
from .errors import CaseError, EngineError, ReplayError, RulesetError, TwitchrulesError
from .explain import Explanation, NextQuestions, explain, next_questions
from .pipeline import evaluate
from .ruleset import Rule, Ruleset, is_valid_ruleset, load_ruleset
from .version import __version__

if _TYPE_CHECKING:
    from .population.batch import BatchSummary, batch
    from .population.cohort import cohort_cases
    from .population.impact import ImpactReport, impact

_POPULATION = frozenset({"BatchSummary", "ImpactReport", "batch", "cohort_cases", "impact"})


def __getattr__(name: str) -> _Any:
    """The population API (``batch``, ``impact``...), imported on first use, not with the package."""
    if name in _POPULATION:
        from . import population

        return getattr(population, name)
    raise AttributeError(f"module 'twitchrules' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The package's names, the lazily imported population API included."""
    return sorted(set(globals()) | _POPULATION)

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
