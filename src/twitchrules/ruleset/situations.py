"""Situations: what must hold of the facts for a rule to fire, as data a checker can compare.

A *situation* is one conjunction of constraints, one per fact: a set of allowed values for a
true/false or word fact, an interval (and possibly a set of points) for a number. A rule's
condition becomes a list of situations (its disjunctive normal form); a derived fact the
condition tests is replaced by the situations of the rules that assert it, so two rules that
reach the same derived fact by different ways are compared on the case facts themselves.

Everything here reads the rules as data; nothing is evaluated. The algebra treats facts as
independent of one another except for the ruleset's declared qualifiers (with ``weakness``
false, ``weakness_progressive`` is false too), so "can hold" may say yes to a situation the
contract makes impossible (say, ``segment_count`` 0) but never says no to a possible one:
a rule reported as never firing truly cannot fire.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..case.facts import COUNTERS, FactSpec
from .conditions import All, Any_, Atom, Condition, Unknown
from .model import Ruleset

MAX_SITUATIONS = 2000
"""Most situations one condition may expand to; past it derived facts stay opaque."""


@dataclass(frozen=True)
class Constraint:
    """The values one fact may take: ``allowed`` for a finite fact, bounds and points for a number."""

    finite: bool
    allowed: frozenset[Any] = frozenset()
    low: float = -math.inf
    low_open: bool = True
    high: float = math.inf
    high_open: bool = True
    points: frozenset[float] | None = None

    def contains(self, value: Any) -> bool:
        """Whether a single value satisfies this constraint."""
        if self.finite:
            return value in self.allowed
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.points is not None and value not in self.points:
            return False
        above = value > self.low or (value == self.low and not self.low_open)
        below = value < self.high or (value == self.high and not self.high_open)
        return above and below

    @property
    def empty(self) -> bool:
        """True when no value satisfies the constraint."""
        if self.finite:
            return not self.allowed
        if self.points is not None:
            return not any(self.contains(point) for point in self.points)
        if self.low < self.high:
            return False
        return not (self.low == self.high and not self.low_open and not self.high_open)

    def within(self, other: Constraint) -> bool:
        """Whether every value this constraint allows is allowed by ``other`` too."""
        if self.empty:
            return True
        if self.finite or other.finite:
            return self.finite and other.finite and self.allowed <= other.allowed
        if self.points is not None:
            return all(other.contains(point) for point in self.points if self.contains(point))
        if self.low == self.high:  # a closed single point
            return other.contains(self.low)
        if other.points is not None:
            return False
        low_ok = self.low > other.low or (self.low == other.low and (self.low_open or not other.low_open))
        high_ok = self.high < other.high or (
            self.high == other.high and (self.high_open or not other.high_open))
        return low_ok and high_ok

    def meet(self, other: Constraint) -> Constraint:
        """The values both constraints allow."""
        if self.finite:
            return replace(self, allowed=self.allowed & other.allowed)
        # The tighter bound wins; at equal bounds an open (exclusive) one is the tighter.
        low, low_open = max((self.low, self.low_open), (other.low, other.low_open))
        high, closed = min((self.high, not self.high_open), (other.high, not other.high_open))
        high_open = not closed
        points = self.points if other.points is None else (
            other.points if self.points is None else self.points & other.points)
        return Constraint(False, low=low, low_open=low_open, high=high, high_open=high_open,
                          points=points)


Situation = Mapping[str, Constraint]
"""One conjunction: fact name -> what it must be (a fact not named may be anything)."""


class Domains:
    """The values each fact of a ruleset can take, and its declared qualifiers."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.catalogue: Mapping[str, FactSpec] = ruleset.catalogue
        self.derived = ruleset.derived_names
        self.qualifiers = {parent: tuple(names) for parent, names in
                           ruleset.definitions.get("qualifiers", {}).items()}

    def full(self, fact: str) -> Constraint:
        """The constraint that allows every value of a fact."""
        spec = self.catalogue.get(fact)
        if fact in self.derived:  # asserted or not (rules test it only with 'is: true')
            return Constraint(True, frozenset({True, False}))
        if fact in COUNTERS:
            return Constraint(False, low=0, low_open=False)
        if spec is None or spec.type == "boolean":
            return Constraint(True, frozenset({True, False}))
        if spec.type == "enum":
            return Constraint(True, frozenset(spec.values))
        return Constraint(False)

    def of_atom(self, atom: Atom) -> Constraint:
        """The values of ``atom.fact`` that make ``atom`` true."""
        full = self.full(atom.fact)
        values = tuple(atom.value) if atom.op == "in" else (atom.value,)
        if full.finite:
            return replace(full, allowed=full.allowed & frozenset(values))
        if atom.op in ("is", "in"):
            numbers = frozenset(v for v in values if isinstance(v, (int, float))
                                and not isinstance(v, bool))
            return replace(full, points=numbers)
        bound = float(atom.value)
        if atom.op in ("gt", "gte"):
            return replace(full, low=bound, low_open=atom.op == "gt")
        return replace(full, high=bound, high_open=atom.op == "lt")

    def normalise(self, situation: dict[str, Constraint]) -> dict[str, Constraint]:
        """Apply the declared qualifiers: a parent known false makes its qualifiers false."""
        for parent, names in self.qualifiers.items():
            if parent in situation and situation[parent].allowed == frozenset({False}):
                for name in names:
                    only_false = Constraint(True, frozenset({False}))
                    situation[name] = situation.get(name, only_false).meet(only_false)
        return situation


def conjoin(left: Situation, right: Situation, domains: Domains) -> dict[str, Constraint]:
    """The situation where both hold (it may be contradictory: see ``contradiction``)."""
    merged = dict(left)
    for fact, constraint in right.items():
        merged[fact] = merged[fact].meet(constraint) if fact in merged else constraint
    return domains.normalise(merged)


def contradiction(situation: Situation) -> list[str]:
    """The facts whose constraints no value satisfies (empty: the situation can hold)."""
    return sorted(fact for fact, constraint in situation.items() if constraint.empty)


def implies(situation: Situation, other: Situation, domains: Domains) -> bool:
    """Whether every set of facts satisfying ``situation`` satisfies ``other``."""
    if contradiction(situation):
        return True
    return all(situation.get(fact, domains.full(fact)).within(constraint)
               for fact, constraint in other.items())


def all_imply(situations: Iterable[Situation], others: list[Situation], domains: Domains) -> bool:
    """Whether each situation implies one of ``others`` (so the first condition implies the second)."""
    return all(any(implies(s, o, domains) for o in others) for s in situations)


class Expander:
    """A ruleset's conditions as situations, derived facts replaced by their producers' situations."""

    def __init__(self, ruleset: Ruleset, opaque: frozenset[str] = frozenset()) -> None:
        self.ruleset = ruleset
        self.domains = Domains(ruleset)
        self.opaque = set(opaque)  # derived facts kept as facts (in a cycle, or too many ways)
        self._derived: dict[str, list[Situation]] = {}
        self._active: set[str] = set()

    def rule(self, index: int) -> list[Situation]:
        """The situations in which the rule at ``index`` fires."""
        return self.condition(self.ruleset.rules[index].condition)

    def condition(self, condition: Condition) -> list[Situation]:
        """The situations of a condition (contradictory ones included)."""
        if isinstance(condition, Atom):
            if condition.fact in self.ruleset.derived_names and condition.fact not in self.opaque:
                return self._derived_fact(condition.fact)
            return [self.domains.normalise({condition.fact: self.domains.of_atom(condition)})]
        if isinstance(condition, Unknown):
            return [{}]
        if isinstance(condition, Any_):
            return [s for part in condition.parts for s in self.condition(part)]
        assert isinstance(condition, All)
        combined: list[Situation] = [{}]
        for part in condition.parts:
            options = self.condition(part)
            combined = [conjoin(a, b, self.domains) for a in combined for b in options]
            combined = [s for s in combined if not contradiction(s)] or combined[:1]
            if len(combined) > MAX_SITUATIONS:
                raise _TooMany
        return combined

    def _derived_fact(self, name: str) -> list[Situation]:
        if name in self._derived:
            return self._derived[name]
        if name in self._active:  # a cycle: keep the fact itself (the cycle check reports it)
            return [{name: self.domains.full(name)}]
        self._active.add(name)
        try:
            found = [s for rule in self.ruleset.producers.get(name, [])
                     for s in self.condition(rule.condition)]
        except _TooMany:
            self.opaque.add(name)
            found = [{name: self.domains.full(name)}]
        finally:
            self._active.discard(name)
        self._derived[name] = found
        return found

    def safe_rule(self, index: int) -> list[Situation]:
        """Like ``rule``, keeping the rule's derived facts opaque when expansion grows too large."""
        try:
            return self.rule(index)
        except _TooMany:
            fallback = Expander(self.ruleset, frozenset(self.ruleset.derived_names))
            return fallback.rule(index)


class _TooMany(Exception):
    """A condition expands to more than ``MAX_SITUATIONS`` situations."""
