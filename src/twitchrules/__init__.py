"""twitchrules: clinical decision support for muscle twitching, every answer traced to its rule.

Public API::

    from twitchrules import Case, evaluate, load_ruleset

    result = evaluate({"assessed_on": "2026-11-20", "patient": {"age": 42}, ...})
    print(result.triage.level, result.to_json())
"""

from ._case import Case, Findings, Patient, RegionEntry, Twitching
from ._case_input import case_from_json, case_from_mapping
from ._errors import CaseError, EngineError, RulesetError, TwitchrulesError
from ._evaluate import __version__, evaluate
from ._result import Result
from ._ruleset import Rule, Ruleset, is_valid_ruleset, load_ruleset
from .engine import available_engines, default_engine

__all__ = [
    "Case",
    "CaseError",
    "EngineError",
    "Findings",
    "Patient",
    "RegionEntry",
    "Result",
    "Rule",
    "Ruleset",
    "RulesetError",
    "Twitching",
    "TwitchrulesError",
    "__version__",
    "available_engines",
    "case_from_json",
    "case_from_mapping",
    "default_engine",
    "evaluate",
    "is_valid_ruleset",
    "load_ruleset",
]
