"""Missing information: the unknown inputs that would change the triage or the differential.

The engine reports which rules it left *undecided* (possible but not fired). For each one
whose firing would change the result (raise the triage, move it off the default, or change
the differential), this names the unknown inputs that leave it undecided. Derived facts and
the checklist counter that are only possibly true pass on the blame of the undecided rules
that could produce them, resolved on demand and memoised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..case.facts import COUNTERS, FactValue
from ..case.vocabulary import CHECKLIST_COUNTER, level_rank
from ..engine import EngineRun
from ..ruleset.conditions import UNKNOWN, Knowledge, kleene
from ..ruleset.model import Rule, Ruleset
from .firing import Firing
from .result import MissingInput, Triage

_NOBODY: frozenset[str] = frozenset()
_TRIAGE = "could make the triage"


class _Judge:
    """Memoised blame of undecided rules for one engine run."""

    def __init__(self, ruleset: Ruleset, run: EngineRun, facts: Mapping[str, FactValue]) -> None:
        self.ruleset = ruleset
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
        if index in self.memo:
            return self.memo[index]
        if index in self.in_progress:  # a cycle adds nothing new
            return _NOBODY
        self.in_progress.add(index)
        value, found = kleene(rule.condition, self.knowledge)
        self.in_progress.discard(index)
        self.memo[index] = found if value == UNKNOWN else _NOBODY
        return self.memo[index]

    def producers_blame(self, rules: list[Rule]) -> frozenset[str]:
        """The union of the blame of those rules that are undecided."""
        found = _NOBODY
        for rule in rules:
            if rule.index in self.undecided:
                found = found | self.blame(rule)
        return found


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


def _effects(rule: Rule, level: int, level_word: str, default_used: bool, listed: set[str],
             possibly_supported: set[str]) -> list[str]:
    """How the firing of an undecided rule would change the result, in words."""
    effects = []
    body = rule.triage
    if body is not None and (level_rank(body["level"]) > level
                             or (default_used and body["level"] != level_word)):
        effects.append(f"{_TRIAGE} {body['level']}")
    for evidence in rule.evidence:
        condition = evidence["condition"]
        if evidence["direction"] == "for" or condition in listed or condition in possibly_supported:
            effects.append(f"could change the differential: {condition}")
    return effects


def missing_information(firing: Firing, triage: Triage, default_used: bool,
                        listed: set[str]) -> list[MissingInput]:
    """Each unknown input that would change the triage or the differential, with why.

    Ordered by what to ask first: inputs that could change the triage, highest reachable
    level first, then inputs that change only the differential; within each, the ruleset's
    ``definitions.ask_first`` inputs first (e.g. breathing), then contract order.
    """
    ruleset = firing.ruleset
    judge = _Judge(ruleset, firing.run, firing.facts)
    undecided = [ruleset.rules[index] for index in sorted(judge.undecided)]
    possibly_supported = {
        body["condition"] for rule in undecided for body in rule.evidence
        if body["direction"] == "for"}
    level = level_rank(triage.level)
    effects_by_input: dict[str, list[tuple[str, str]]] = {}
    triage_reach: dict[str, int] = {}  # the highest triage level an input could lead to
    for rule in undecided:
        effects = _effects(rule, level, triage.level, default_used, listed, possibly_supported)
        if not effects:
            continue
        culprits = judge.blame(rule)
        if culprits:
            found = [(effect, rule.id) for effect in dict.fromkeys(effects)]
            sets = rule.triage
            reach = level_rank(sets["level"]) if sets and effects[0].startswith(_TRIAGE) else -1
            for name in culprits:
                effects_by_input.setdefault(name, []).extend(found)
                triage_reach[name] = max(triage_reach.get(name, -1), reach)
    reasons: dict[str, dict[str, list[str]]] = {}
    for name, found in effects_by_input.items():
        by_effect = reasons[name] = {}
        for effect, rule_id in found:
            by_effect.setdefault(effect, []).append(rule_id)
    order, first = ruleset.input_order, ruleset.ask_first
    result = []
    for name in sorted(reasons, key=lambda name: (-triage_reach[name], first.get(name, len(first)),
                                                  order[name])):
        by_effect = reasons[name]
        why = "; ".join(f"{effect} ({', '.join(dict.fromkeys(rule_ids))})"
                        for effect, rule_ids in by_effect.items())
        rules = list(dict.fromkeys(r for rule_ids in by_effect.values() for r in rule_ids))
        result.append(MissingInput.built(input=name, why=f"Unknown: {why}.", rules=rules))
    return result
