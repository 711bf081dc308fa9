"""Differential: each condition's score from the evidence of the fired rules, ranked.

A condition's score is ``(1 - prod(1 - w_for)) * prod(1 - w_against)`` over the weights of
its fired evidence; a condition with no supporting evidence is not listed. Unknown is never
evidence: a finding a fired rule names but the case leaves unknown (a rule whose ``any``
held on another finding) is in no ``for`` or ``against`` list; it is listed as
``unconfirmed``.
"""

from __future__ import annotations

from typing import Any

from .firing import Firing
from .plan import EvidenceRow, plan_of
from .result import DifferentialEntry, EvidenceItem


def build_differential(firing: Firing) -> list[DifferentialEntry]:
    """The ranked differential of one evaluation, most supported first."""
    plan = plan_of(firing.ruleset)
    plans, conditions = plan.rules, plan.conditions
    evidence: dict[str, list[tuple[str, EvidenceRow]]] = {}
    for index in firing.run.fired:
        rule_id = plan.ids[index]
        for row in plans[index].evidence_rows:
            found = evidence.get(row.condition)
            if found is None:
                evidence[row.condition] = [(rule_id, row)]
            else:
                found.append((rule_id, row))
    value_of = firing.value_of
    make_item = EvidenceItem.in_order
    ranked: list[tuple[float, int, tuple[Any, ...]]] = []
    for condition, rows in evidence.items():
        meta = conditions.get(condition)
        if meta is None:  # not a condition of the ruleset (its checks refuse one)
            continue
        keep_for, keep_against = 1.0, 1.0
        for_: list[str] = []
        against: list[str] = []
        rules: list[str] = []
        items: list[EvidenceItem] = []
        unconfirmed: list[str] = []
        for rule_id, row in rows:
            direction, side = row.direction, for_ if row.supports else against
            for name in row.findings:
                value = value_of(name)
                if value is None:
                    unconfirmed.append(name)
                    continue
                items.append(make_item({"finding": name, "value": value, "direction": direction,
                                        "rule": rule_id}))
                side.append(name)
            if row.supports:
                keep_for *= 1 - row.weight
            else:
                keep_against *= 1 - row.weight
            if rule_id not in rules:
                rules.append(rule_id)
        score = round((1 - keep_for) * keep_against, 3)
        if keep_for == 1.0 or score <= 0:
            continue
        position, title, tests = meta
        ranked.append((-score, position, (
            condition, title, score, list(dict.fromkeys(for_)), list(dict.fromkeys(against)),
            list(tests), rules, items, list(dict.fromkeys(unconfirmed)))))
    ranked.sort(key=lambda entry: (entry[0], entry[1]))
    make = DifferentialEntry.in_order
    return [make({"condition": condition, "title": title, "rank": rank, "score": score,
                  "for_": for_, "against": against, "tests": tests, "rules": rules,
                  "evidence": items, "unconfirmed": unconfirmed})
            for rank, (_, _, (condition, title, score, for_, against, tests, rules, items,
                              unconfirmed)) in enumerate(ranked, start=1)]
