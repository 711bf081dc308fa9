"""Program: a ruleset compiled to the engine-neutral form that every backend translates.

Each rule becomes one or more compiled rules, one per conjunct of its condition, in two
modes: *definite* (fires when the condition is true) and *possible* (fires when it is true
or unknown, i.e. not false). Definite rules come first in priority, in ruleset order; the
possible rules follow, so the definite firing order is the ruleset's own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..case.facts import COUNTERS
from ..ruleset.conditions import Atom, Condition, possible, to_conjuncts
from ..ruleset.model import Ruleset

DEFINITE, POSSIBLE = "definite", "possible"


@dataclass(frozen=True)
class CompiledRule:
    """One conjunct of one rule in one mode, with its priority (lower fires first)."""

    key: str
    rule_index: int
    mode: str
    priority: int
    case: Condition | None
    derived: tuple[str, ...]
    counters: tuple[Atom, ...]


@dataclass(frozen=True)
class Program:
    """A compiled ruleset: the compiled rules and what each rule asserts when it fires."""

    ruleset: Ruleset
    rules: tuple[CompiledRule, ...]
    by_key: dict[str, CompiledRule]
    asserts: tuple[tuple[str, ...], ...]  # per rule index: derived facts it asserts
    checklist_met: tuple[tuple[str, ...], ...]  # per rule index: checklist items it makes met
    steps: tuple[tuple[int, bool], ...]  # per compiled rule: its rule index, whether definite
    asserting: frozenset[int]  # the rule indices that assert a derived fact
    itemising: frozenset[int]  # the rule indices that make a checklist item met


def compile_program(ruleset: Ruleset) -> Program:
    """Compile a ruleset into definite and possible conjunct rules with priorities."""
    unknowable = frozenset(
        name for name, spec in ruleset.catalogue.items() if spec.kind == "input"
    )
    counters = frozenset(COUNTERS)
    count = len(ruleset.rules)
    compiled: list[CompiledRule] = []
    for mode, offset in ((DEFINITE, 0), (POSSIBLE, count)):
        for rule in ruleset.rules:
            condition = rule.condition
            if mode == POSSIBLE:
                condition = possible(condition, unknowable)
            conjuncts = to_conjuncts(condition, ruleset.derived_names, counters)
            for position, conjunct in enumerate(conjuncts):
                compiled.append(
                    CompiledRule(
                        key=f"{mode[0]}{rule.index}_{position}",
                        rule_index=rule.index,
                        mode=mode,
                        priority=offset + rule.index,
                        case=conjunct.case,
                        derived=conjunct.derived,
                        counters=conjunct.counters,
                    )
                )
    return Program(
        ruleset=ruleset,
        rules=tuple(compiled),
        by_key={rule.key: rule for rule in compiled},
        asserts=tuple(tuple(rule.conclusions("assert")) for rule in ruleset.rules),
        checklist_met=tuple(rule.checklist_met for rule in ruleset.rules),
        steps=tuple((rule.rule_index, rule.mode == DEFINITE) for rule in compiled),
        asserting=frozenset(rule.index for rule in ruleset.rules if rule.conclusions("assert")),
        itemising=frozenset(rule.index for rule in ruleset.rules if rule.checklist_met),
    )


def decisions_program(program: Program) -> Program:
    """The program's definite rules alone: the decisions of a run, none of its possible record.

    A definite rule reads only the case and the definite facts (``d``, ``c``), which only
    definite firings assert, and every definite rule outranks every possible one; so the
    definite firings, their order, the derived facts and the met checklist items are those
    of the whole program (``tests/test_engine_decisions.py`` runs both on every case file).
    ``EngineRun.possible`` and the possible facts then hold the definite firings only: what
    needs the possible record (missing information) must run the whole program.
    """
    rules = tuple(compiled for compiled in program.rules if compiled.mode == DEFINITE)
    return replace(program, rules=rules, by_key={compiled.key: compiled for compiled in rules},
                   steps=tuple((compiled.rule_index, True) for compiled in rules))
