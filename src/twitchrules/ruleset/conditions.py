"""Conditions: the rule language's declarative conditions as a typed tree, in three-valued logic.

A condition is parsed from data (never evaluated as code) into ``All``, ``Any`` and
``Atom`` nodes. Two things are computed from the tree:

* ``to_conjuncts``: the shape an engine backend compiles, a disjunction of conjuncts, each
  one test on the case fact plus positive tests on derived facts and counters;
* ``kleene``: the Kleene value (true, false, unknown) of a condition over what is known,
  with the unknown inputs that leave it undecided ("blame"), used for missing information.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..case.facts import FactValue

OPERATORS: tuple[str, ...] = ("is", "in", "gt", "gte", "lt", "lte")
_COMPARE = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}

TRUE, FALSE, UNKNOWN = "true", "false", "unknown"
_NONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Atom:
    """A test of one fact: ``fact op value``; on a missing fact it is unknown."""

    fact: str
    op: str
    value: Any

    def holds(self, actual: FactValue) -> bool:
        """Whether a known value passes this test."""
        if self.op == "is":
            return type(actual) is type(self.value) and actual == self.value or (
                _is_number(actual) and _is_number(self.value) and actual == self.value
            )
        if self.op == "in":
            return any(Atom(self.fact, "is", option).holds(actual) for option in self.value)
        if not _is_number(actual):
            return False
        return bool(_COMPARE[self.op](actual, self.value))


@dataclass(frozen=True)
class Unknown:
    """True when a fact is unknown (absent); used only in compiled "possible" conditions."""

    fact: str


@dataclass(frozen=True)
class All:
    """True when every part is true (an empty ``All`` is always true)."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Any_:
    """True when some part is true."""

    parts: tuple[Condition, ...]


Condition = Atom | Unknown | All | Any_


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_condition(data: Mapping[str, Any]) -> Condition:
    """Build a condition tree from its data form (already schema-checked)."""
    if "all" in data:
        return All(tuple(parse_condition(part) for part in data["all"]))
    if "any" in data:
        return Any_(tuple(parse_condition(part) for part in data["any"]))
    (op,) = [key for key in data if key != "fact"]
    value = data[op]
    if op == "in":
        value = tuple(value)
    return Atom(data["fact"], op, value)


def atoms(condition: Condition) -> list[Atom]:
    """Every atom of a condition, in reading order."""
    if isinstance(condition, Atom):
        return [condition]
    if isinstance(condition, Unknown):
        return []
    return [atom for part in condition.parts for atom in atoms(part)]


@dataclass(frozen=True)
class Conjunct:
    """One way for a rule to fire: a case test, derived facts and counter tests, all true."""

    case: Condition | None
    derived: tuple[str, ...]
    counters: tuple[Atom, ...]


def _merge(left: Conjunct, right: Conjunct) -> Conjunct:
    if left.case is None:
        case = right.case
    elif right.case is None:
        case = left.case
    else:
        case = All((left.case, right.case))
    return Conjunct(
        case,
        tuple(dict.fromkeys(left.derived + right.derived)),
        tuple(dict.fromkeys(left.counters + right.counters)),
    )


def to_conjuncts(
    condition: Condition, derived_names: frozenset[str], counter_names: frozenset[str]
) -> list[Conjunct]:
    """Rewrite a condition as a disjunction of conjuncts (case-only subtrees stay whole)."""

    case_only: dict[int, bool] = {}  # id(node) -> whether no atom below it is derived or a counter

    def on_case_only(node: Condition) -> bool:
        # Memoised: walk asks it of every subtree, which re-read the atoms below each one.
        known = case_only.get(id(node))
        if known is None:
            if isinstance(node, Atom):
                known = node.fact not in derived_names and node.fact not in counter_names
            elif isinstance(node, Unknown):
                known = True
            else:
                known = all([on_case_only(part) for part in node.parts])
            case_only[id(node)] = known
        return known

    def walk(node: Condition) -> list[Conjunct]:
        if on_case_only(node):
            return [Conjunct(node, (), ())]
        if isinstance(node, Atom):
            if node.fact in counter_names:
                return [Conjunct(None, (), (node,))]
            return [Conjunct(None, (node.fact,), ())]
        if isinstance(node, Any_):
            return [conj for part in node.parts for conj in walk(part)]
        assert isinstance(node, All)
        combos: list[Conjunct] = [Conjunct(None, (), ())]
        for part in node.parts:
            combos = [_merge(a, b) for a, b in itertools.product(combos, walk(part))]
        return combos

    return walk(condition)


def possible(condition: Condition, unknowable: frozenset[str]) -> Condition:
    """The condition that is true when ``condition`` is true or unknown (not false)."""
    if isinstance(condition, Atom):
        if condition.fact in unknowable:
            return Any_((condition, Unknown(condition.fact)))
        return condition
    if isinstance(condition, Unknown):
        return condition
    parts = tuple(possible(part, unknowable) for part in condition.parts)
    return All(parts) if isinstance(condition, All) else Any_(parts)


@dataclass
class Knowledge:
    """What is known when judging a condition in three-valued logic."""

    facts: Mapping[str, FactValue]
    derived: frozenset[str]
    derived_possible: Mapping[str, frozenset[str]]  # name -> unknown inputs that could make it
    counters: Mapping[str, int]
    counters_possible: Mapping[str, int]
    counter_blame: Mapping[str, frozenset[str]]
    derived_names: frozenset[str]
    counter_names: frozenset[str]
    input_names: Mapping[str, str]  # fact -> contract input name, for unknowable facts


def kleene(condition: Condition, known: Knowledge) -> tuple[str, frozenset[str]]:
    """Three-valued value of a condition and, when unknown, the inputs that leave it undecided."""
    if isinstance(condition, Atom):
        fact = condition.fact
        facts = known.facts
        if fact in facts:  # derived facts and counters never share a name with case facts
            return (TRUE if condition.holds(facts[fact]) else FALSE), _NONE
        if fact in known.derived_names:
            if fact in known.derived:
                return TRUE, _NONE
            if fact in known.derived_possible:
                return UNKNOWN, known.derived_possible[fact]
            return FALSE, _NONE
        if fact in known.counter_names:
            if condition.holds(known.counters.get(fact, 0)):
                return TRUE, _NONE
            if condition.holds(known.counters_possible.get(fact, 0)):
                return UNKNOWN, known.counter_blame.get(fact, _NONE)
            return FALSE, _NONE
        if fact in known.input_names:
            return UNKNOWN, frozenset({known.input_names[fact]})
        return FALSE, _NONE
    if isinstance(condition, Unknown):
        return (FALSE if condition.fact in known.facts else TRUE), _NONE
    # Short-circuit: a false part decides an All, a true part decides an Any.
    decisive, other = (FALSE, TRUE) if isinstance(condition, All) else (TRUE, FALSE)
    blame = _NONE
    undecided = False
    for part in condition.parts:
        value, part_blame = kleene(part, known)
        if value == decisive:
            return decisive, _NONE
        if value == UNKNOWN:
            undecided = True
            blame = blame | part_blame
    return (UNKNOWN, blame) if undecided else (other, _NONE)
