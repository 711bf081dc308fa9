"""Routes: the one or two finding changes that could make a rule fire or stop, read from its condition.

A route is a proposal only: a set of input changes (``{"weakness": True}``) that, going by
the rule's condition read as data, could flip it. The engine decides (``whatif`` re-runs the
real engine on every proposal and keeps only what it confirms), so a route that the
engine does not confirm costs one run and nothing else. A derived fact is reached through
the rules that assert it, the checklist count through the rules that make an item met.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..case.vocabulary import DATE_FINDINGS, NUMBER_FINDINGS
from ..ruleset.conditions import All, Any_, Atom, Condition, Unknown
from .nearness import CaseState

Route = dict[str, Any]
"""Fact name -> the value it would be changed to."""

_WIDTH = 8  # routes kept per node: enough for one or two changes, bounded on wide conditions


def _step(threshold: float) -> float:
    return 1 if isinstance(threshold, int) and threshold >= 2 else 0.1


def _number(fact: str, value: float) -> float | None:
    """``value`` rounded as a clinician writes it, or ``None`` outside the finding's range."""
    spec = NUMBER_FINDINGS.get(fact)
    rounded = round(value, 2)
    if rounded == int(rounded):
        rounded = int(rounded)
    if spec is not None and not spec.low <= rounded <= spec.high:
        return None
    return rounded


def making(atom: Atom, truth: bool, allowed: tuple[str, ...]) -> Any | None:
    """A value of ``atom.fact`` that makes the test ``truth`` (``None``: there is none)."""
    op, value = atom.op, atom.value
    if op == "is":
        if isinstance(value, bool):
            return value if truth else not value
        if truth:
            return value
        return next((option for option in allowed if option != value), None)
    if op == "in":
        if truth:
            return value[0]
        return next((option for option in allowed if option not in value), None)
    step = _step(value)
    target = {("gt", True): value + step, ("gt", False): value,
              ("gte", True): value, ("gte", False): value - step,
              ("lt", True): value - step, ("lt", False): value,
              ("lte", True): value, ("lte", False): value + step}[(op, truth)]
    return _number(atom.fact, target)


def _unique(routes: Iterable[Route]) -> list[Route]:
    seen: dict[tuple[tuple[str, str], ...], Route] = {}
    for route in routes:
        key = tuple(sorted((fact, repr(value)) for fact, value in route.items()))
        seen.setdefault(key, route)
    return sorted(seen.values(), key=len)[:_WIDTH]


class RouteFinder:
    """Routes of at most ``budget`` changes that make conditions true or false on one case."""

    def __init__(self, state: CaseState, budget: int = 2) -> None:
        self.state = state
        self.budget = budget
        ruleset = state.ruleset
        dates = set(DATE_FINDINGS.values())
        self.changeable = {fact for fact in ruleset.input_names if fact not in dates}
        self.allowed = {fact: spec.values for fact, spec in ruleset.catalogue.items()}
        # A qualifier (weakness_progressive) is false when its parent (weakness) is known false.
        self.parent = {name: parent for parent, names in
                       ruleset.definitions.get("qualifiers", {}).items() for name in names}
        # Conditions are shared (a derived fact's producers are read for every rule that
        # tests it): each is worked out once per case. Keyed by identity: the ruleset holds them.
        self._memo: dict[tuple[int, bool, frozenset[str]], list[Route]] = {}

    def _merge(self, left: Route, right: Route) -> Route | None:
        """Two routes as one (``None``: they disagree, or it takes more than the budget)."""
        merged = dict(left)
        for fact, value in right.items():
            if fact in merged and merged[fact] != value:
                return None
            merged[fact] = value
        implied = {fact for fact, value in merged.items() if value is False
                   and merged.get(self.parent.get(fact, "")) is False}
        for fact in implied:  # follows from the parent: not a change of its own
            del merged[fact]
        return merged if len(merged) <= self.budget else None

    def _product(self, groups: list[list[Route]]) -> list[Route]:
        combos: list[Route] = [{}]
        for group in groups:
            combos = _unique(merged for left in combos for right in group
                             for merged in [self._merge(left, right)] if merged is not None)
            if not combos:
                return []
        return combos

    def routes(self, condition: Condition, truth: bool, seen: frozenset[str] = frozenset()) -> list[Route]:
        """Routes that make ``condition`` ``truth`` (``[{}]``: it already is)."""
        key = (id(condition), truth, seen)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._routes(condition, truth, seen)
        return list(found)

    def _routes(self, condition: Condition, truth: bool, seen: frozenset[str]) -> list[Route]:
        if isinstance(condition, Atom):
            return self._atom(condition, truth, seen)
        if isinstance(condition, Unknown):  # pragma: no cover - only in compiled conditions
            return []
        parts = [self.routes(part, truth, seen) for part in condition.parts]
        every = isinstance(condition, All) == truth  # all parts must take the value
        if every:
            return self._product(parts)
        return _unique(route for part in parts for route in part)

    def _atom(self, atom: Atom, truth: bool, seen: frozenset[str]) -> list[Route]:
        state = self.state
        status = state.status(atom)
        if status == ("holds" if truth else "fails"):
            return [{}]
        fact = atom.fact
        ruleset = state.ruleset
        if fact in self.changeable:
            value = making(atom, truth, self.allowed.get(fact, ()))
            return [] if value is None else [{fact: value}]
        if fact in ruleset.derived_names and fact not in seen:
            wanted = atom.holds(True) == truth  # whether the derived fact must be established
            producers = ruleset.producers.get(fact, [])
            inner = seen | {fact}
            if wanted:
                return _unique(route for rule in producers
                               for route in self.routes(rule.condition, True, inner))
            return self._product([self.routes(rule.condition, False, inner) for rule in producers])
        if fact in state.counters and truth:
            return self._counter(atom, seen)
        return []

    def _counter(self, atom: Atom, seen: frozenset[str]) -> list[Route]:
        """Routes that make enough new checklist items met for a counter test to hold."""
        count = self.state.counters[atom.fact]
        needed = next((n for n in range(count, count + self.budget + 1) if atom.holds(n)), None)
        if needed is None or "#counter" in seen:
            return []
        inner = seen | {"#counter"}
        met = {item for rule in self.state.ruleset.checklist_producers
               for item in rule.checklist_met
               if rule.id in self._fired_ids}
        by_item: dict[str, list[Route]] = {}
        for rule in self.state.ruleset.checklist_producers:
            for item in rule.checklist_met:
                if item not in met:
                    by_item.setdefault(item, []).extend(
                        route for route in self.routes(rule.condition, True, inner) if route)
        items = sorted(by_item)
        k = needed - count
        if k == 1:
            return _unique(route for item in items for route in by_item[item])
        return _unique(merged for i, first in enumerate(items) for second in items[i + 1:]
                       for left in by_item[first] for right in by_item[second]
                       for merged in [self._merge(left, right)] if merged is not None)

    @property
    def _fired_ids(self) -> frozenset[str]:
        return self.state.fired


def any_of(conditions: list[Condition]) -> Condition:
    """A condition true when any of ``conditions`` is (used to make several rules stop)."""
    return Any_(tuple(conditions))
