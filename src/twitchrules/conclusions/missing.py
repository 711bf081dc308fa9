"""Missing information: the unknown inputs that would change the triage or the differential.

The engine reports which rules it left *undecided* (possible but not fired). For each one
whose firing would change the result (raise the triage, move it off the default, or change
the differential), this names the unknown inputs that leave it undecided. Derived facts and
the checklist counter that are only possibly true pass on the blame of the undecided rules
that could produce them, resolved on demand and memoised.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from typing import Any

from ..case.facts import COUNTERS, FactValue
from ..case.vocabulary import CHECKLIST_COUNTER, level_rank
from ..engine import EngineRun
from ..ruleset.conditions import FALSE, TRUE, UNKNOWN, Knowledge, kleene
from ..ruleset.model import Rule, Ruleset
from .firing import Firing
from .plan import FlatCondition, plan_of
from .result import MissingInput, Triage

_NOBODY: frozenset[str] = frozenset()


class _Judge:
    """Memoised blame of undecided rules for one engine run."""

    def __init__(self, ruleset: Ruleset, run: EngineRun, facts: Mapping[str, FactValue]) -> None:
        self.ruleset = ruleset
        self.plans = plan_of(ruleset).rules
        self.facts = facts
        self.run = run
        self.undecided = run.possible.difference(run.fired)
        self.memo: dict[int, frozenset[str]] = {}
        self.in_progress: set[int] = set()
        self.knowledge = Knowledge(
            facts=facts, derived=frozenset(run.derived), derived_possible=_DerivedBlame(self),
            counters={CHECKLIST_COUNTER: len(run.items_met)},
            counters_possible={CHECKLIST_COUNTER: len(run.items_possible)},
            counter_blame=_CounterBlame(self),
            derived_names=ruleset.derived_names, counter_names=frozenset(COUNTERS),
            input_names=ruleset.input_names)

    def blame(self, rule: Rule) -> frozenset[str]:
        """The unknown inputs that leave ``rule`` undecided (empty if it is decided)."""
        index = rule.index
        flat = self.plans[index].flat
        if flat is not None and flat.case_only:  # no other rule's blame is read: no memo
            return _flat_blame(flat, self.facts, self.knowledge)
        if index in self.memo:
            return self.memo[index]
        if index in self.in_progress:  # a cycle adds nothing new
            return _NOBODY
        self.in_progress.add(index)
        if flat is not None:
            found = _flat_blame(flat, self.facts, self.knowledge)
        else:
            value, found = kleene(rule.condition, self.knowledge)
            if value != UNKNOWN:
                found = _NOBODY
        self.in_progress.discard(index)
        self.memo[index] = found
        return found

    def producers_blame(self, rules: list[Rule]) -> frozenset[str]:
        """The union of the blame of those rules that are undecided."""
        found = _NOBODY
        for rule in rules:
            if rule.index in self.undecided:
                found = found | self.blame(rule)
        return found


def _flat_blame(flat: FlatCondition, facts: Mapping[str, FactValue],
                knowledge: Knowledge) -> frozenset[str]:
    """``kleene``'s blame of a flat condition (the unknown inputs when it is unknown, else
    none), its atoms judged in order as ``kleene`` judges them, without a walk of the tree."""
    decisive = FALSE if flat.every else TRUE
    found = _NOBODY
    undecided = False
    for fact, atom, inputs, engine_made in flat.atoms:
        if fact in facts:
            if (TRUE if atom.holds(facts[fact]) else FALSE) == decisive:
                return _NOBODY
            continue
        if engine_made:  # a derived fact or a counter: its producers' blame, memoised
            value, part = kleene(atom, knowledge)
        elif inputs:
            value, part = UNKNOWN, inputs
        else:  # neither known nor an input: false
            value, part = FALSE, _NOBODY
        if value == decisive:
            return _NOBODY
        if value == UNKNOWN:
            undecided = True
            found = found | part
    return found if undecided else _NOBODY


class _DerivedBlame(dict[str, frozenset[str]]):
    """Derived facts that are only possibly true, mapped lazily to their producers' blame."""

    def __init__(self, judge: _Judge) -> None:
        super().__init__()
        self.judge = judge

    def __contains__(self, name: object) -> bool:
        run = self.judge.run
        return name in run.derived_possible and name not in run.derived

    def __getitem__(self, name: str) -> frozenset[str]:
        return self.judge.producers_blame(self.judge.ruleset.producers.get(name, []))


class _CounterBlame(dict[str, frozenset[str]]):
    """The checklist counter's blame: undecided rules that could make a new item met."""

    def __init__(self, judge: _Judge) -> None:
        super().__init__()
        self.judge = judge

    def get(self, name: str, default: Any = None) -> frozenset[str]:
        met = self.judge.run.items_met
        rules = [rule for rule in self.judge.ruleset.checklist_producers
                 if any(item not in met for item in rule.checklist_met)]
        return self.judge.producers_blame(rules)


def missing_information(firing: Firing, triage: Triage, default_used: bool,
                        listed: set[str]) -> list[MissingInput]:
    """Each unknown input that would change the triage or the differential, with why.

    Ordered by what to ask first: inputs that could change the triage, highest reachable
    level first, then inputs that change only the differential; within each, the ruleset's
    ``definitions.ask_first`` inputs first (e.g. breathing), then contract order. The effect
    of each rule's firing, in words, comes from the ruleset's plan (made once); per case
    only the choice among them and the blame are worked out.
    """
    ruleset = firing.ruleset
    plan_all = plan_of(ruleset)
    plans = plan_all.rules
    judge = _Judge(ruleset, firing.run, firing.facts)
    undecided = sorted(judge.undecided.intersection(plan_all.effectful))
    possibly_supported: set[str] | None = None  # conditions an undecided rule could support
    level, level_word = level_rank(triage.level), triage.level
    rules, facts = ruleset.rules, firing.facts
    effects_of: dict[int, tuple[str, ...]] = {}  # rule index -> how its firing changes the result
    blamed: dict[str, list[int]] = {}  # input -> the rules it leaves undecided, in rule order
    triage_reach: dict[str, int] = {}  # the highest triage level an input could lead to
    for index in undecided:
        plan = plans[index]
        effects: list[str] = []
        reach = -1
        sets = plan.triage
        if sets is not None and (sets.rank > level or (default_used and sets.level != level_word)):
            effects.append(sets.effect)
            reach = sets.rank
        if plan.all_support:
            effects.extend(plan.evidence_effects)
        else:
            for evidence in plan.evidence:
                if not (evidence.supports or evidence.condition in listed):
                    if possibly_supported is None:  # only evidence against needs it
                        possibly_supported = {condition for number in undecided
                                              for condition in plans[number].supports}
                    if evidence.condition not in possibly_supported:
                        continue
                effects.append(evidence.effect)
        if not effects:
            continue
        flat = plan.flat
        culprits = (_flat_blame(flat, facts, judge.knowledge) if flat is not None and flat.case_only
                    else judge.blame(rules[index]))
        if not culprits:
            continue
        effects_of[index] = tuple(dict.fromkeys(effects))
        for name in culprits:
            found = blamed.get(name)
            if found is None:
                blamed[name] = [index]
                triage_reach[name] = reach
            else:
                found.append(index)
                if reach > triage_reach[name]:
                    triage_reach[name] = reach
    order, first = ruleset.input_order, ruleset.ask_first
    ask_last = len(first)
    alone: dict[int, str] = {}  # rule index -> the reason of an input only that rule names
    result = []
    for name in sorted(blamed, key=lambda name: (-triage_reach[name], first.get(name, ask_last),
                                                 order[name])):
        indices = blamed[name]
        if len(indices) == 1:
            index = indices[0]
            why = alone.get(index)
            rule_id = plans[index].id
            if why is None:
                why = alone[index] = "Unknown: " + "; ".join(
                    [f"{effect} ({rule_id})" for effect in effects_of[index]]) + "."
            result.append(MissingInput.built(input=name, why=why, rules=[rule_id]))
            continue
        by_effect: dict[str, list[str]] = {}
        for index in indices:
            rule_id = plans[index].id
            for effect in effects_of[index]:
                if effect in by_effect:
                    by_effect[effect].append(rule_id)
                else:
                    by_effect[effect] = [rule_id]
        why = "; ".join([f"{effect} ({', '.join(dict.fromkeys(rule_ids))})"
                         for effect, rule_ids in by_effect.items()])
        named = list(dict.fromkeys(chain.from_iterable(by_effect.values())))
        result.append(MissingInput.built(input=name, why=f"Unknown: {why}.", rules=named))
    return result
