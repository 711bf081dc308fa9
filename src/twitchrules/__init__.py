"""twitchrules: clinical decision support for muscle twitching, every answer traced to its rule.

Public API::

    from twitchrules import Case, evaluate, load_ruleset

    result = evaluate({"assessed_on": "2026-11-20", "patient": {"age": 42}, ...})
    print(result.triage.level, result.to_json())

The package tree is the pipeline: ``case`` -> ``engine`` -> ``conclusions`` -> ``outputs``,
with ``ruleset`` beside it and ``cli``, ``service``, ``fhir``, ``population`` (batch and
impact replay of many cases) and ``explain`` (why, why not, what if) on top (see docs/architecture.md).

``import twitchrules`` loads only the errors and the version: each public name is imported
from its stage the first time it is used (PEP 562), so a process pays for what it uses
(``twitchrules evaluate`` never imports the explanations, the population replay or pydantic
models it does not need).
"""

import sys as _sys
import types as _types
from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .errors import CaseError, EngineError, ReplayError, RulesetError, TwitchrulesError
from .version import __version__

if _TYPE_CHECKING:
    from .case import (
        Case,
        Findings,
        Patient,
        RegionEntry,
        Twitching,
        case_from_json,
        case_from_mapping,
    )
    from .conclusions import Result
    from .engine import available_engines, default_engine
    from .explain import Explanation, NextQuestions, explain, next_questions
    from .pipeline import evaluate
    from .population.batch import BatchSummary, batch
    from .population.cohort import cohort_cases
    from .population.impact import ImpactReport, impact
    from .ruleset import Rule, Ruleset, is_valid_ruleset, load_ruleset

_LAZY: dict[str, str] = {  # public name -> the module it is imported from
    **dict.fromkeys(("Case", "Findings", "Patient", "RegionEntry", "Twitching", "case_from_json",
                     "case_from_mapping"), ".case"),
    "Result": ".conclusions",
    **dict.fromkeys(("available_engines", "default_engine"), ".engine"),
    **dict.fromkeys(("Explanation", "NextQuestions", "explain", "next_questions"), ".explain"),
    "evaluate": ".pipeline",
    **dict.fromkeys(("BatchSummary", "ImpactReport", "batch", "cohort_cases", "impact"),
                    ".population"),
    **dict.fromkeys(("Rule", "Ruleset", "is_valid_ruleset", "load_ruleset"), ".ruleset"),
}


def __getattr__(name: str) -> _Any:
    """A public name, imported from its stage on first use and kept (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'twitchrules' has no attribute {name!r}")
    value = getattr(_import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The package's names, those not imported yet included."""
    return sorted(set(globals()) | set(_LAZY))


class _Package(_types.ModuleType):
    """The package's module type: importing the ``explain`` subpackage never hides the
    ``explain`` function.

    Python binds a subpackage to its parent's attribute of the same name when it first
    imports it; with ``explain`` imported lazily that would make ``twitchrules.explain`` the
    package whenever ``twitchrules.explain.<module>`` was imported before the function was
    asked for. The package stays reachable as ``sys.modules["twitchrules.explain"]`` and by
    every ``import``/``from ... import`` of it.
    """

    def __setattr__(self, name: str, value: _Any) -> None:
        if name in _FUNCTIONS and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_FUNCTIONS = frozenset({"explain"})  # public functions named like a subpackage
_sys.modules[__name__].__class__ = _Package

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
