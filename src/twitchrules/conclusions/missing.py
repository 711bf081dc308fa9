"""Missing information: the unknown inputs that would change the triage or the differential.

The engine reports which rules it left *undecided* (possible but not fired). For each one
whose firing would change the result (raise the triage, move it off the default, or change
the differential), this names the unknown inputs that leave it undecided. Derived facts and
the checklist counter that are only possibly true pass on the blame of the undecided rules
that could produce them, resolved on demand and memoised.

The engine's verdict is the rule's three-valued value (definite: true; possible: not false;
``tests/test_missing_information.py`` checks that they agree on every rule of a cohort), so
the blame of an undecided rule whose condition is flat (an atom, or all/any of atoms) is
read from the plan's atoms without judging the known ones: none of them can decide it. A
flat condition on case facts only is blamed on the inputs of its atoms the case leaves
unknown; the others are judged in three-valued logic (``kleene``), as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import chain
from typing import Any

from ..case.facts import COUNTERS, FactValue
from ..case.vocabulary import CHECKLIST_COUNTER, level_rank
from ..engine import EngineRun
from ..ruleset.conditions import FALSE, TRUE, UNKNOWN, Knowledge, kleene
from ..ruleset.model import Rule, Ruleset
from .firing import Firing
from .plan import CaseTree, FlatCondition, RulePlan, plan_of
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
        self.producers = plan_of(ruleset).producers
        self.acyclic = plan_of(ruleset).acyclic
        self.item_makers: list[int] | None = None  # the rules that could make a new item met
        self.derived_memo: dict[str, frozenset[str]] = {}
        self.knowledge = Knowledge(
            facts=facts, derived=frozenset(run.derived), derived_possible=_DerivedBlame(self),
            counters={CHECKLIST_COUNTER: len(run.items_met)},
            counters_possible={CHECKLIST_COUNTER: len(run.items_possible)},
            counter_blame=_CounterBlame(self),
            derived_names=ruleset.derived_names, counter_names=frozenset(COUNTERS),
            input_names=ruleset.input_names)

    def blame(self, rule: Rule) -> frozenset[str]:
        """The unknown inputs that leave ``rule`` undecided (``rule`` being undecided)."""
        return self.blame_at(rule.index)

    def blame_at(self, index: int) -> frozenset[str]:
        """The blame of the undecided rule at ``index``."""
        plan = self.plans[index]
        if plan.case_blame is not None:  # no other rule's blame is read: no memo
            return plan.case_blame.difference(self.facts)
        flat = plan.flat
        if flat is not None and flat.case_only:
            return _unknown_inputs(flat, self.facts)
        found = self.memo.get(index)
        if found is not None:
            return found
        if index in self.in_progress:  # a cycle adds nothing new
            return _NOBODY
        self.in_progress.add(index)
        if flat is not None:
            found = self._flat_blame(flat)
        elif plan.case_tree is not None:
            decided, found = _tree_blame(plan.case_tree, self.facts)
            if decided is not None:
                found = _NOBODY
        else:
            value, found = kleene(self.ruleset.rules[index].condition, self.knowledge)
            if value != UNKNOWN:
                found = _NOBODY
        self.in_progress.discard(index)
        self.memo[index] = found
        return found

    def _flat_blame(self, flat: FlatCondition) -> frozenset[str]:
        """``kleene``'s blame of an undecided flat condition: the known case facts decide
        nothing (the rule is undecided), so only the unknown atoms are judged, in order; a
        derived fact as ``kleene`` judges it (true if definite, else its producers' blame if
        possible, else false), a counter by ``kleene`` itself."""
        every = flat.every
        facts, run = self.facts, self.run
        derived_names = self.ruleset.derived_names
        found = _NOBODY
        for fact, atom, inputs, engine_made in flat.atoms:
            if fact in facts:
                continue
            if not engine_made:
                found = found | inputs
            elif fact in derived_names:
                if fact in run.derived:  # true: decides an any
                    if not every:
                        return _NOBODY
                elif fact in run.derived_possible:
                    found = found | self.derived_blame(fact)
                elif every:  # false: decides an all
                    return _NOBODY
            else:  # a counter
                value, part = kleene(atom, self.knowledge)
                if value == (FALSE if every else TRUE):
                    return _NOBODY
                if value == UNKNOWN:
                    found = found | part
        return found

    def derived_blame(self, name: str) -> frozenset[str]:
        """The blame of a derived fact that is only possibly true: its undecided producers'.

        Kept for the case when no cycle can cut a producer's blame short (the ruleset has
        none, or this is worked out outside any rule's judgement): the same union would come
        out again."""
        found = self.derived_memo.get(name)
        if found is None:
            complete = self.acyclic or not self.in_progress
            found = self.producers_blame_at(self.producers.get(name, ()))
            if complete:
                self.derived_memo[name] = found
        return found

    def producers_blame(self, rules: list[Rule]) -> frozenset[str]:
        """The union of the blame of those rules that are undecided."""
        return self.producers_blame_at([rule.index for rule in rules])

    def producers_blame_at(self, indices: Iterable[int]) -> frozenset[str]:
        """The union of the blame of the rules at ``indices`` that are undecided."""
        found = _NOBODY
        undecided, plans, facts = self.undecided, self.plans, self.facts
        for index in indices:
            if index in undecided:
                case_blame = plans[index].case_blame  # blame_at's first case, without a call
                found = found | (self.blame_at(index) if case_blame is None
                                 else case_blame.difference(facts))
        return found


def _tree_blame(tree: CaseTree, facts: Mapping[str, FactValue]) -> tuple[bool | None,
                                                                        frozenset[str]]:
    """``kleene`` of a condition on case facts (``None``: unknown) with its blame when unknown.

    Its value does not depend on the order its parts are judged in (a false part decides an
    all, a true part an any; else the unknown parts' blame is their union), so the atoms are
    judged first, in a loop, and the deeper parts after them."""
    every = tree.every
    blame = _NOBODY
    undecided = False
    for fact, atom, inputs in tree.atoms:
        if fact in facts:
            if atom.holds(facts[fact]) is not every:  # false in an all, true in an any
                return not every, _NOBODY
        elif inputs:
            undecided = True
            blame = blame | inputs
        elif every:  # neither known nor an input: false, which decides an all
            return False, _NOBODY
    for part in tree.parts:
        value, part_blame = _tree_blame(part, facts)
        if value is None:
            undecided = True
            blame = blame | part_blame
        elif value is not every:
            return not every, _NOBODY
    return (None, blame) if undecided else (every, _NOBODY)


def _unknown_inputs(flat: FlatCondition, facts: Mapping[str, FactValue]) -> frozenset[str]:
    """The blame of an undecided flat condition on case facts: its unknown atoms' inputs."""
    if flat.named_as_inputs:
        return flat.input_facts.difference(facts)
    return frozenset([name for fact, name in flat.inputs if fact not in facts])


class _DerivedBlame(dict[str, frozenset[str]]):
    """Derived facts that are only possibly true, mapped lazily to their producers' blame."""

    def __init__(self, judge: _Judge) -> None:
        super().__init__()
        self.judge = judge

    def __contains__(self, name: object) -> bool:
        run = self.judge.run
        return name in run.derived_possible and name not in run.derived

    def __getitem__(self, name: str) -> frozenset[str]:
        return self.judge.derived_blame(name)


class _CounterBlame(dict[str, frozenset[str]]):
    """The checklist counter's blame: undecided rules that could make a new item met."""

    def __init__(self, judge: _Judge) -> None:
        super().__init__()
        self.judge = judge

    def get(self, name: str, default: Any = None) -> frozenset[str]:
        judge = self.judge
        if judge.item_makers is None:
            met = judge.run.items_met
            judge.item_makers = [rule.index for rule in judge.ruleset.checklist_producers
                                 if any(item not in met for item in rule.checklist_met)]
        return judge.producers_blame_at(judge.item_makers)


Code = int | tuple[int, tuple[str, ...]]
"""A rule blaming an input, with its effects: ``2 * index + 1`` for a rule whose effects are
the plan's with the triage's (``+ 0``: without), or ``(index, effects)``."""

REASONS_KEPT = 1 << 10
"""How many reasons (an input's rules and effects -> its words) a plan keeps, at most: the
first ones met, which are the combinations that recur case after case. Each is about 1 KiB:
a long-running process holds at most about 1 MiB of them. Measured on generated cases after
a warm-up of 2,000: the reasons not kept are worked out again for 1.1% of the missing inputs
(0.3% with 65,536 kept, ~3 us each: under 1 us a case), while 65,536 kept grew memory by
about 3 MiB over 100,000 cases (``benchmarks/stress.py``)."""


def _reason(codes: tuple[Code, ...], plans: tuple[RulePlan, ...]) -> tuple[str, tuple[str, ...]]:
    """Why an input is listed and the rules it names, from the rules that it leaves undecided
    (in rule order): each effect once, in order of appearance, with the rules it comes from."""
    by_effect: dict[str, list[str]] = {}  # effect -> its rules (ids are unique), in order
    for code in codes:
        if isinstance(code, int):
            plan = plans[code >> 1]
            effects = plan.effects_with_triage if code & 1 else plan.effects_without_triage
        else:
            plan, effects = plans[code[0]], code[1]
        for effect in effects:
            by_effect.setdefault(effect, []).append(plan.id)
    why = "; ".join([f"{effect} ({', '.join(rule_ids)})" for effect, rule_ids in by_effect.items()])
    return f"Unknown: {why}.", tuple(dict.fromkeys(chain.from_iterable(by_effect.values())))


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
    run, facts = firing.run, firing.facts
    undecided_set = run.possible.difference(run.fired)
    undecided = sorted(undecided_set.intersection(plan_all.effectful))
    judge: _Judge | None = None  # made when a rule's blame needs the engine's own facts
    possibly_supported: set[str] | None = None  # conditions an undecided rule could support
    level = level_rank(triage.level)
    rows = plan_all.missing_rows
    # input -> the rules it leaves undecided, in rule order, each as a code of the rule and
    # its effects (``_reason``), which together name the reason the input is listed with
    blamed: dict[str, list[Code]] = {}
    triage_reach: dict[str, int] = {}  # the highest triage level an input could lead to
    for index in undecided:
        rank, all_support, with_triage, without_triage, culprits = rows[index]
        # The triage counts if it is higher, or, off the default, any other level.
        counts = rank > level or (default_used and rank >= 0 and rank != level)
        if all_support:
            effects = with_triage if counts else without_triage
            if not effects:
                continue
        else:
            plan = plans[index]
            sets = plan.triage
            found = [sets.effect] if counts and sets is not None else []
            for evidence in plan.evidence:
                if not (evidence.supports or evidence.condition in listed):
                    if possibly_supported is None:  # only evidence against needs it
                        possibly_supported = set().union(*[
                            plans[number].supports for number
                            in plan_all.supporting.intersection(undecided)])
                    if evidence.condition not in possibly_supported:
                        continue
                found.append(evidence.effect)
            if not found:
                continue
            effects = tuple(dict.fromkeys(found))
        if culprits is not None:
            culprits = culprits.difference(facts)
        else:
            flat = plans[index].flat
            if flat is not None and flat.case_only:
                culprits = _unknown_inputs(flat, facts)
            else:
                if judge is None:
                    judge = _Judge(ruleset, run, facts)
                culprits = judge.blame_at(index)
        if not culprits:
            continue
        code: Code = index * 2 + counts if all_support else (index, effects)
        reach = rank if counts else -1
        for name in culprits:
            codes = blamed.get(name)
            if codes is None:
                blamed[name] = [code]
                triage_reach[name] = reach
            else:
                codes.append(code)
                if reach > triage_reach[name]:
                    triage_reach[name] = reach
    input_rank = plan_all.input_rank
    ranked = sorted([(-triage_reach[name], input_rank[name], name) for name in blamed])
    reasons = plan_all.reasons
    make = MissingInput.in_order
    result = []
    for _, _, name in ranked:
        key = tuple(blamed[name])
        reason = reasons.get(key)
        if reason is None:
            reason = _reason(key, plans)
            if len(reasons) < REASONS_KEPT:
                reasons[key] = reason
        result.append(make({"input": name, "why": reason[0], "rules": list(reason[1])}))
    return result
