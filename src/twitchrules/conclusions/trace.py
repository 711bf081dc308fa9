"""Trace: every fired rule in firing order, what it matched, what it concluded, its source."""

from __future__ import annotations

from typing import Any

from ..case.facts import COUNTERS
from ..ruleset.model import Rule
from .firing import Firing
from .plan import plan_of
from .result import TraceEntry


def _matched(rule: Rule, firing: Firing) -> dict[str, Any]:
    """The facts a fired rule's condition read, with the values they had when it fired."""
    matched: dict[str, Any] = {}
    facts, run = firing.facts, firing.run
    for fact in rule.condition_facts:
        if fact in facts:
            matched[fact] = facts[fact]
        elif fact in firing.ruleset.derived_names:
            if fact in run.derived:
                matched[fact] = True
        elif fact in COUNTERS:
            matched[fact] = run.counter_at_firing[rule.index]
    return matched


def build_trace(firing: Firing, default_used: bool) -> list[TraceEntry]:
    """The trace of one evaluation; the default triage is its last entry when it was used."""
    labels = firing.ruleset.source_labels
    plans = plan_of(firing.ruleset).rules
    facts = firing.facts
    make = TraceEntry.in_order
    entries = []
    for rule in firing.fired:
        if plans[rule.index].reads_case_only:  # no derived fact or counter: the case's values
            matched = {fact: facts[fact] for fact in rule.condition_facts if fact in facts}
        else:
            matched = _matched(rule, firing)
        entries.append(make({"rule": rule.id, "version": rule.version, "matched": matched,
                             "concluded": list(rule.concluded), "source": labels[rule.index]}))
    if default_used:
        rule_id, version, concluded, source = plan_of(firing.ruleset).default_entry
        entries.append(make({"rule": rule_id, "version": version, "matched": {},
                             "concluded": [concluded], "source": source}))
    return entries
