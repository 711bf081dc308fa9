"""Session: what happens when a compiled rule fires, the same for every backend.

A backend matches and orders; it reports each firing here by key and asserts back the facts
this returns. Derived facts are ``("d", name)`` (definite) and ``("p", name)`` (possible);
the checklist counter is ``("c", name, value)`` and ``("pc", name, value)``. A rule is
recorded once per mode, at its first firing, whatever conjunct fired it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..case.vocabulary import CHECKLIST_COUNTER
from .program import DEFINITE, Program

NewFact = tuple[str, str] | tuple[str, str, int]
"""A fact a firing asserts back: ``(kind, name)`` or ``(kind, counter name, value)``."""


@dataclass
class EngineRun:
    """What an engine run produced: definite firings in order, and the possible rules."""

    fired: list[int] = field(default_factory=list)
    possible: set[int] = field(default_factory=set)
    derived: set[str] = field(default_factory=set)
    derived_possible: set[str] = field(default_factory=set)
    items_met: set[str] = field(default_factory=set)
    items_possible: set[str] = field(default_factory=set)
    counter_at_firing: dict[int, int] = field(default_factory=dict)


class Session:
    """The per-case record of firings; built fresh for every evaluation."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.run = EngineRun()
        self.error: BaseException | None = None

    def fire(self, key: str) -> list[NewFact]:
        """Record the firing of compiled rule ``key``; return the facts to assert."""
        compiled = self.program.by_key[key]
        index = compiled.rule_index
        run = self.run
        if compiled.mode == DEFINITE:
            if index in run.fired:
                return []
            run.fired.append(index)
            run.counter_at_firing[index] = len(run.items_met)
            definite = self._conclude(index, run.derived, run.items_met, "d", "c")
            return definite + self._possibly(index)
        if index in run.possible:
            return []
        return self._possibly(index)

    def _possibly(self, index: int) -> list[NewFact]:
        self.run.possible.add(index)
        return self._conclude(index, self.run.derived_possible, self.run.items_possible, "p", "pc")

    def _conclude(self, index: int, derived: set[str], items_met: set[str], fact_kind: str,
                  counter_kind: str) -> list[NewFact]:
        """Add a rule's derived facts and met items to one mode's record; return what is new."""
        new: list[NewFact] = []
        for name in self.program.asserts[index]:
            if name not in derived:
                derived.add(name)
                new.append((fact_kind, name))
        items = self.program.checklist_met[index]
        if items and not set(items) <= items_met:
            items_met.update(items)
            new.append((counter_kind, CHECKLIST_COUNTER, len(items_met)))
        return new


def record_from_firings(program: Program, numbers: Iterable[Hashable],
                        steps: Mapping[Any, tuple[int, bool]] | None = None) -> EngineRun:
    """The firing record of a run, from the numbers of the compiled rules that fired, in order.

    What ``Session.fire`` records, assembled from what the compiler prepared once per rule
    (``Program.steps``: each compiled rule's rule and mode; ``asserts`` and ``checklist_met``),
    for a backend that fires each rule at most once per mode itself (the CLIPS native mode).
    ``steps`` maps each number as the backend gives it (e.g. the text of its trace) to that
    rule and mode; by default the numbers are ints, positions in ``Program.steps``.
    """
    found: Any = program.steps if steps is None else steps
    asserts, items = program.asserts, program.checklist_met
    record = list(map(found.__getitem__, numbers))
    possible = {index for index, _ in record}
    # Each rule once, at its first definite firing (a backend may report one twice).
    fired = list(dict.fromkeys([index for index, definite in record if definite]))
    counter_at_firing: dict[int, int] = {}
    items_met: set[str] = set()
    itemising = program.itemising
    for index in fired:
        counter_at_firing[index] = len(items_met)
        if index in itemising:
            items_met.update(items[index])
    asserting = program.asserting
    return EngineRun(fired=fired, possible=possible,
                     derived=set().union(*[asserts[index] for index in fired
                                           if index in asserting]),
                     derived_possible=set().union(*[asserts[index] for index
                                                    in possible.intersection(asserting)]),
                     items_met=items_met,
                     items_possible=set().union(*[items[index] for index
                                                  in possible.intersection(itemising)]),
                     counter_at_firing=counter_at_firing)
