"""Ruleset model: a loaded, checked ruleset and its rules, with what they need prepared once.

A ``Ruleset`` is immutable; everything derived from it (the fact definitions, each rule's
conclusions by kind, its trace wording and source label, the producers of derived facts)
is computed on first use and kept on the object, so it is worked out once per ruleset, not
once per case.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..case.facts import FactDefinitions, FactSpec
from .conditions import Atom, Condition, atoms
from .words import conclusion_text

if TYPE_CHECKING:
    from .vocabulary import Vocabulary


@dataclass(frozen=True)
class Rule:
    """One rule: when its condition is true it concludes ``then``; provenance says who and whence."""

    id: str
    version: str
    title: str
    condition: Condition
    then: tuple[Mapping[str, Any], ...]
    explanation: str
    provenance: Mapping[str, Any]
    index: int
    file: str
    data: Mapping[str, Any] = field(repr=False)

    @cached_property
    def _by_kind(self) -> dict[str, list[Any]]:
        by_kind: dict[str, list[Any]] = {}
        for item in self.then:
            for kind, body in item.items():
                by_kind.setdefault(kind, []).append(body)
        return by_kind

    def conclusions(self, kind: str) -> list[Any]:
        """The bodies of this rule's conclusions of one kind, in order."""
        return self._by_kind.get(kind, [])

    @cached_property
    def evidence(self) -> list[Mapping[str, Any]]:
        """This rule's differential evidence conclusions, in order."""
        return self.conclusions("evidence")

    @cached_property
    def condition_facts(self) -> tuple[str, ...]:
        """The fact names its condition tests, each once, in reading order."""
        return tuple(dict.fromkeys(atom.fact for atom in atoms(self.condition)))

    @cached_property
    def triage(self) -> Mapping[str, Any] | None:
        """The triage this rule sets, if any."""
        found = self.conclusions("triage")
        return found[0] if found else None

    @cached_property
    def concluded(self) -> tuple[str, ...]:
        """What the rule concludes, in the trace's words."""
        return tuple(conclusion_text(item, "trace") for item in self.then)

    @cached_property
    def checklist_met(self) -> tuple[str, ...]:
        """The checklist items this rule makes met."""
        return tuple(body["item"] for body in self.conclusions("checklist")
                     if body["status"] == "met")


@dataclass(frozen=True)
class Ruleset:
    """A loaded, validated ruleset: header data, rules in order, and its content hash."""

    name: str
    version: str
    sha256: str
    path: str
    data: Mapping[str, Any] = field(repr=False)
    rules: tuple[Rule, ...] = field(repr=False)
    catalogue: Mapping[str, FactSpec] = field(repr=False)
    derived_names: frozenset[str] = field(repr=False)

    @property
    def definitions(self) -> Mapping[str, Any]:
        """The ruleset's definitions (segments, thresholds, red-flag findings)."""
        definitions: Mapping[str, Any] = self.data["definitions"]
        return definitions

    @cached_property
    def fact_definitions(self) -> FactDefinitions:
        """The segment map and qualifiers that turn a case into facts, prepared once."""
        return FactDefinitions.from_definitions(self.definitions)

    @cached_property
    def timeframe_rank(self) -> dict[str, int]:
        """Timeframe category -> its rank, most pressing first (empty before ruleset 1.1)."""
        return {name: rank for rank, name in enumerate(self.definitions.get("timeframe_urgency", ()))}

    @cached_property
    def ask_first(self) -> dict[str, int]:
        """Input names that missing information lists first (at the same reachable level)."""
        return {name: rank for rank, name in enumerate(self.definitions.get("ask_first", ()))}

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """The words a clinician reads for this ruleset's facts, conditions, rules and values."""
        from .vocabulary import Vocabulary  # with the contract's words: not needed to evaluate

        return Vocabulary(self)

    @cached_property
    def passages(self) -> dict[str, Mapping[str, Any]]:
        """The quoted source passages, by id."""
        return {p["id"]: p for p in self.data.get("passages", [])}

    @property
    def triage_default(self) -> Mapping[str, Any]:
        """The triage used when no triage rule fires (audited and locked like a rule)."""
        default: Mapping[str, Any] = self.data["triage_default"]
        return default

    @cached_property
    def input_names(self) -> dict[str, str]:
        """Facts that may be unknown, mapped to the contract input name they report as."""
        return {name: spec.input_name for name, spec in self.catalogue.items() if spec.kind == "input"}

    @cached_property
    def input_order(self) -> dict[str, int]:
        """Contract input names in catalogue order (the order missing information is listed in)."""
        return {name: position for position, name in enumerate(self.input_names.values())}

    @cached_property
    def producers(self) -> dict[str, list[Rule]]:
        """For each derived fact, the rules that assert it."""
        found: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for name in rule.conclusions("assert"):
                found.setdefault(name, []).append(rule)
        return found

    @cached_property
    def checklist_producers(self) -> list[Rule]:
        """The rules that can make a checklist item met."""
        return [rule for rule in self.rules if rule.checklist_met]

    @cached_property
    def source_labels(self) -> tuple[str, ...]:
        """Per rule (by index): the words naming its source."""
        return tuple(self.source_label(rule.provenance) for rule in self.rules)

    @cached_property
    def compared_numbers(self) -> dict[str, list[float]]:
        """Fact name -> the numbers the rules' conditions compare it with, sorted."""
        found: dict[str, set[float]] = {}
        for rule in self.rules:
            for atom in atoms(rule.condition):
                for value in _values(atom):
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        found.setdefault(atom.fact, set()).add(value)
        return {fact: sorted(values) for fact, values in found.items()}

    @cached_property
    def _by_id(self) -> dict[str, Rule]:
        return {rule.id: rule for rule in self.rules}

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (``KeyError`` if there is none)."""
        return self._by_id[rule_id]

    def source_label(self, provenance: Mapping[str, Any]) -> str:
        """Words naming a provenance's source: the passage label, or the reference."""
        source = provenance["source"]
        if "passage" in source:
            passage = self.passages[source["passage"]]
            return str(passage["label"])
        return str(source.get("reference") or source.get("note"))


def canonical_sha256(document: Mapping[str, Any]) -> str:
    """sha256 of a ruleset document as canonical JSON (sorted keys, compact, UTF-8)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _values(atom: Atom) -> tuple[Any, ...]:
    return tuple(atom.value) if atom.op == "in" else (atom.value,)
