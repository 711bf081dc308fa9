"""Firing: one engine run with the ruleset and facts it ran on, as every conclusion reads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from ..case.facts import FactValue
from ..engine import EngineRun
from ..ruleset.model import Rule, Ruleset


@dataclass(frozen=True)
class Firing:
    """What one evaluation's conclusions are built from: ruleset, facts and firing record."""

    ruleset: Ruleset
    run: EngineRun
    facts: Mapping[str, FactValue]

    @cached_property
    def fired(self) -> list[Rule]:
        """The rules that fired definitely, in firing order."""
        rules = self.ruleset.rules
        return [rules[index] for index in self.run.fired]

    def value_of(self, name: str) -> FactValue | None:
        """A fact's value in this evaluation: a case fact, a derived fact's truth, or ``None``."""
        if name in self.ruleset.derived_names:
            return name in self.run.derived
        return self.facts.get(name)
