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
    plan = plan_of(firing.ruleset)
    rows, rules = plan.trace_rows, firing.ruleset.rules
    facts = firing.facts
    make = TraceEntry.in_order
    entries = []
    for index in firing.run.fired:
        rule_id, version, concluded, source, condition_facts = rows[index]
        if condition_facts is not None:  # no derived fact or counter: the case's values
            matched = {fact: facts[fact] for fact in condition_facts if fact in facts}
        else:
            matched = _matched(rules[index], firing)
        entries.append(make({"rule": rule_id, "version": version, "matched": matched,
                             "concluded": list(concluded), "source": source}))
    if default_used:
        default_id, default_version, default_concluded, default_source = plan.default_entry
        entries.append(make({"rule": default_id, "version": default_version, "matched": {},
                             "concluded": [default_concluded], "source": default_source}))
    return entries
