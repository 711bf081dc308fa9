"""Build an explanation: the grounds of the result, why not more, and what if (engine re-runs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..case import Case, build_facts, case_from_mapping
from ..case.vocabulary import CHECKLIST_COUNTER, TRIAGE_LEVELS, level_rank
from ..conclusions import Result
from ..conclusions.result import DifferentialEntry
from ..engine import cached_ruleset
from ..pipeline import evaluate
from ..ruleset.model import Rule, Ruleset
from ..ruleset.sources import RulesetSpec
from .model import (
    ConditionGrounds,
    Explanation,
    NearMiss,
    TriageGrounds,
    WhyNotCondition,
    WhyNotLevel,
)
from .nearness import CaseState, failed_test, nearest
from .whatif import DEFAULT_MAX_RUNS, fired_rules, what_if


def explain(
    case: Case | Mapping[str, Any],
    *,
    ruleset: RulesetSpec = None,
    engine: str | None = None,
    max_runs: int = DEFAULT_MAX_RUNS,
) -> Explanation:
    """Explain one case's result: why, why not, and what would change it.

    For the triage level and each differential entry: the findings that support it, those
    that argue against it and those unknown that matter, in clinician words. Why not: for
    each higher triage level and each condition not in the differential, the nearest rules
    that did not fire and which of their tests failed. What if: the smallest sets of one or
    two findings that, changed or made known, move the triage or add or drop a condition,
    each found by re-running the engine on the changed case.

    Args:
        case: the case, as ``evaluate`` takes it (a ``Case`` or a contract-shaped mapping).
        ruleset: as for ``evaluate`` (``None``: the bundled ruleset).
        engine: as for ``evaluate`` (``None``: the default engine).
        max_runs: the most engine runs the what-if search may make for this case.

    Raises:
        CaseError: as ``evaluate`` raises it (and ``RulesetError``, ``EngineError`` likewise).
    """
    checked = case_from_mapping(case)
    loaded = cached_ruleset(ruleset)
    result = evaluate(checked, ruleset=loaded, engine=engine)
    return explain_result(checked, result, loaded, engine=engine, max_runs=max_runs)


def case_state(case: Case, result: Result, ruleset: Ruleset) -> CaseState:
    """What is known of an evaluated case: its facts and what its fired rules established."""
    fired = fired_rules(result, ruleset)
    derived = frozenset(name for rule in fired for name in rule.conclusions("assert"))
    return CaseState(ruleset=ruleset, facts=build_facts(case, ruleset.fact_definitions),
                     derived=derived, counters={CHECKLIST_COUNTER: result.checklist.count},
                     fired=frozenset(rule.id for rule in fired))


def explain_result(case: Case, result: Result, ruleset: Ruleset, *, engine: str | None = None,
                   max_runs: int = DEFAULT_MAX_RUNS) -> Explanation:
    """The explanation of a result already computed for ``case`` on ``ruleset`` and ``engine``."""
    state = case_state(case, result, ruleset)
    changes, search = what_if(case, result, state, engine=engine, max_runs=max_runs)
    return Explanation(
        ruleset=result.ruleset, engine=result.engine,
        triage=_triage_grounds(result, state),
        differential=[_condition_grounds(entry, result, ruleset) for entry in result.differential],
        why_not_levels=_why_not_levels(result, state),
        why_not_conditions=_why_not_conditions(result, state),
        what_if=changes, search=search)


def _phrases(matched: Mapping[str, Any], ruleset: Ruleset) -> list[str]:
    vocabulary = ruleset.vocabulary
    return [vocabulary.phrase(name, value) for name, value in matched.items()]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _missing_for(result: Result, ruleset: Ruleset, wanted: Any) -> list[str]:
    """The unknown inputs the result lists whose rules pass ``wanted``, as labels."""
    vocabulary = ruleset.vocabulary
    return _unique([vocabulary.label(entry.input) for entry in result.missing_information
                    if any(wanted(ruleset.rule(rule_id)) for rule_id in entry.rules)])


def _triage_grounds(result: Result, state: CaseState) -> TriageGrounds:
    ruleset = state.ruleset
    level = result.triage.level
    matched = {entry.rule: entry.matched for entry in result.trace}
    setting = [rule_id for rule_id in result.triage.rules if rule_id in matched]
    supporting = _unique([phrase for rule_id in setting
                          for phrase in _phrases(matched[rule_id], ruleset)])
    lower = [rule.id for rule in fired_rules(result, ruleset)
             if rule.triage and level_rank(rule.triage["level"]) < level_rank(level)]
    outweighed = _unique([phrase for rule_id in lower
                          for phrase in _phrases(matched[rule_id], ruleset)
                          if phrase not in supporting])

    def sets_triage(rule: Rule) -> bool:
        return rule.triage is not None and rule.triage["level"] != level

    return TriageGrounds(level=level, label=ruleset.vocabulary.level(level).label,
                         supporting=supporting, conflicting=[], lower_level=outweighed,
                         unconfirmed=_missing_for(result, ruleset, sets_triage),
                         rules=list(result.triage.rules))


def _condition_grounds(entry: DifferentialEntry, result: Result, ruleset: Ruleset) -> ConditionGrounds:
    vocabulary = ruleset.vocabulary

    def side(direction: str) -> list[str]:
        return _unique([vocabulary.phrase(item.finding, item.value) for item in entry.evidence
                        if item.direction == direction and item.value is not None])

    def bears_on(rule: Rule) -> bool:
        return any(body["condition"] == entry.condition for body in rule.evidence)

    unconfirmed = [vocabulary.label(name) for name in entry.unconfirmed]
    unconfirmed += _missing_for(result, ruleset, bears_on)
    return ConditionGrounds(condition=entry.condition, title=entry.title,
                            support=vocabulary.support(entry.score), supporting=side("for"),
                            conflicting=side("against"), unconfirmed=_unique(unconfirmed),
                            rules=list(entry.rules))


def _near_misses(rules: list[Rule], state: CaseState) -> list[NearMiss]:
    return [NearMiss(rule=rule.id, title=rule.title,
                     failed=[failed_test(atom, state) for atom in tests])
            for rule, tests in nearest(rules, state)]


def _why_not_levels(result: Result, state: CaseState) -> list[WhyNotLevel]:
    ruleset = state.ruleset
    here = level_rank(result.triage.level)
    found = []
    for level in TRIAGE_LEVELS[here + 1:]:
        rules = [rule for rule in ruleset.rules if rule.triage and rule.triage["level"] == level
                 and rule.id not in state.fired]
        if rules:
            found.append(WhyNotLevel(level=level, label=ruleset.vocabulary.level(level).label,
                                     nearest=_near_misses(rules, state)))
    return found


def _why_not_conditions(result: Result, state: CaseState) -> list[WhyNotCondition]:
    ruleset = state.ruleset
    listed = {entry.condition for entry in result.differential}
    supporting: dict[str, list[Rule]] = {}  # condition -> the unfired rules that would support it
    for rule in ruleset.rules:
        if rule.id not in state.fired:
            for condition in dict.fromkeys(body["condition"] for body in rule.evidence
                                           if body["direction"] == "for"):
                supporting.setdefault(condition, []).append(rule)
    found = []
    for condition in ruleset.data["conditions"]:
        if condition in listed:
            continue
        rules = supporting.get(condition, [])
        if rules:
            found.append(WhyNotCondition(condition=condition,
                                         title=ruleset.vocabulary.condition_title(condition),
                                         nearest=_near_misses(rules, state)))
    return found
