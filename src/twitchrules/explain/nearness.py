"""Nearness: which tests of a rule's condition hold on a case, and how few would have to change.

This reads the rule conditions as data on the case's facts and the fired rules' derived
facts (it never decides a result: the engine does). A test holds, fails, or is unknown (the
finding is not given). The cost of a condition is how many of its tests are not true on
the cheapest way to make it true: the sum over an ``all``, the least over an ``any``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..case import FactValue
from ..case.vocabulary import NUMBER_FINDINGS
from ..ruleset.conditions import All, Atom, Condition, Unknown
from ..ruleset.model import Rule, Ruleset
from ..ruleset.vocabulary import number_words
from .model import FailedTest

_SIGNS = {"gt": "above", "gte": "at least", "lt": "below", "lte": "at most"}


@dataclass(frozen=True)
class CaseState:
    """What is known of one evaluated case: its facts, derived facts and checklist count."""

    ruleset: Ruleset
    facts: Mapping[str, FactValue]
    derived: frozenset[str]
    counters: Mapping[str, int]
    fired: frozenset[str]

    def status(self, atom: Atom) -> str:
        """``holds``, ``fails`` or ``unknown`` (an input the case does not give)."""
        fact = atom.fact
        if fact in self.facts:
            return "holds" if atom.holds(self.facts[fact]) else "fails"
        if fact in self.ruleset.derived_names:
            return "holds" if atom.holds(fact in self.derived) else "fails"
        if fact in self.counters:
            return "holds" if atom.holds(self.counters[fact]) else "fails"
        return "unknown" if fact in self.ruleset.input_names else "fails"

    def value(self, fact: str) -> FactValue | None:
        """The value a fact has on this case (a derived fact: whether it is established)."""
        if fact in self.ruleset.derived_names:
            return fact in self.derived
        if fact in self.counters:
            return self.counters[fact]
        return self.facts.get(fact)


def open_tests(condition: Condition, state: CaseState) -> list[Atom]:
    """The tests not true on the cheapest way to make ``condition`` true (first of equals)."""
    if isinstance(condition, Atom):
        return [] if state.status(condition) == "holds" else [condition]
    if isinstance(condition, Unknown):  # pragma: no cover - only in compiled conditions
        return []
    found = [open_tests(part, state) for part in condition.parts]
    if isinstance(condition, All):
        return [atom for part in found for atom in part]
    return min(found, key=len) if found else [Atom("never", "is", True)]


def held_tests(condition: Condition, state: CaseState) -> list[Atom]:
    """The tests that hold and make a true ``condition`` true (its first true branch)."""
    if isinstance(condition, Atom):
        return [condition] if state.status(condition) == "holds" else []
    if isinstance(condition, Unknown):  # pragma: no cover - only in compiled conditions
        return []
    if isinstance(condition, All):
        return [atom for part in condition.parts for atom in held_tests(part, state)]
    for part in condition.parts:
        if not open_tests(part, state):
            return held_tests(part, state)
    return []


def nearest(rules: list[Rule], state: CaseState, limit: int = 2) -> list[tuple[Rule, list[Atom]]]:
    """The ``limit`` rules fewest tests away from firing, in ruleset order among equals."""
    ranked = sorted(((len(tests), rule.index, rule, tests) for rule in rules
                     for tests in [open_tests(rule.condition, state)] if tests),
                    key=lambda item: (item[0], item[1]))
    return [(rule, tests) for _, _, rule, tests in ranked[:limit]]


def wanted_words(atom: Atom, ruleset: Ruleset) -> str:
    """What a test asks for, in words: ``muscle weakness``, ``potassium below 3.5 mmol/L``."""
    vocabulary = ruleset.vocabulary
    if atom.op == "is":
        return vocabulary.phrase(atom.fact, atom.value)
    if atom.op == "in":
        return " or ".join(vocabulary.phrase(atom.fact, option) for option in atom.value)
    unit = NUMBER_FINDINGS[atom.fact].unit if atom.fact in NUMBER_FINDINGS else ""
    number = f"{number_words(atom.value)} {unit}".strip()
    return f"{_lower_first(vocabulary.label(atom.fact))} {_SIGNS[atom.op]} {number}"


def failed_test(atom: Atom, state: CaseState) -> FailedTest:
    """A test that is not true, with what it asks and what the case says, in words."""
    vocabulary = state.ruleset.vocabulary
    status = state.status(atom)
    value = state.value(atom.fact)
    if atom.fact in state.ruleset.derived_names:
        actual = "established" if value else "not established"
    else:
        actual = vocabulary.value(atom.fact, value)
    return FailedTest(fact=atom.fact, wanted=wanted_words(atom, state.ruleset), actual=actual,
                      unknown=status == "unknown")


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]
