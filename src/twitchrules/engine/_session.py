"""Session: what happens when a compiled rule fires, the same for every backend.

A backend matches and orders; it reports each firing here by key and asserts back the facts
this returns. Derived facts are ``("d", name)`` (definite) and ``("p", name)`` (possible);
counters are ``("c", name, value)`` and ``("pc", name, value)``. A rule is recorded once,
at its first firing, whatever conjunct fired it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._program import DEFINITE, Program

NewFact = tuple[str, ...] | tuple[str, str, int]
_COUNTER = "checklist_met_count"


@dataclass
class EngineRun:
    """What an engine run produced: definite firings in order, and the possible rules."""

    fired: list[int] = field(default_factory=list)
    fired_keys: list[str] = field(default_factory=list)
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
        new: list[NewFact] = []
        if compiled.mode == DEFINITE:
            if index in run.fired:
                return new
            run.fired.append(index)
            run.fired_keys.append(key)
            run.counter_at_firing[index] = len(run.items_met)
            for name in self.program.asserts[index]:
                if name not in run.derived:
                    run.derived.add(name)
                    new.append(("d", name))
            items = self.program.checklist_met[index]
            if items and not set(items) <= run.items_met:
                run.items_met.update(items)
                new.append(("c", _COUNTER, len(run.items_met)))
            return new + self._possibly(index)
        if index in run.possible:
            return new
        return self._possibly(index)

    def _possibly(self, index: int) -> list[NewFact]:
        run = self.run
        new: list[NewFact] = []
        run.possible.add(index)
        for name in self.program.asserts[index]:
            if name not in run.derived_possible:
                run.derived_possible.add(name)
                new.append(("p", name))
        items = self.program.checklist_met[index]
        if items and not set(items) <= run.items_possible:
            run.items_possible.update(items)
            new.append(("pc", _COUNTER, len(run.items_possible)))
        return new
