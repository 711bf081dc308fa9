"""Differential: each condition's score from the evidence of the fired rules, ranked.

A condition's score is ``(1 - prod(1 - w_for)) * prod(1 - w_against)`` over the weights of
its fired evidence; a condition with no supporting evidence is not listed. Unknown is never
evidence: a finding a fired rule names but the case leaves unknown (a rule whose ``any``
held on another finding) is in no ``for`` or ``against`` list; it is listed as
``unconfirmed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ruleset.model import Rule
from .firing import Firing
from .result import DifferentialEntry, EvidenceItem


def build_differential(firing: Firing) -> list[DifferentialEntry]:
    """The ranked differential of one evaluation, most supported first."""
    evidence: dict[str, list[tuple[Rule, Mapping[str, Any]]]] = {}
    for rule in firing.fired:
        for body in rule.evidence:
            evidence.setdefault(body["condition"], []).append((rule, body))
    ranked: list[tuple[float, int, tuple[Any, ...]]] = []
    for position, (condition, meta) in enumerate(firing.ruleset.data["conditions"].items()):
        keep_for, keep_against = 1.0, 1.0
        found: dict[str, list[str]] = {"for": [], "against": []}
        rules: list[str] = []
        items: list[EvidenceItem] = []
        unconfirmed: list[str] = []
        for rule, body in evidence.get(condition, ()):
            direction = body["direction"]
            for name in body["findings"]:
                value = firing.value_of(name)
                if value is None:
                    unconfirmed.append(name)
                    continue
                items.append(EvidenceItem.built(finding=name, value=value, direction=direction,
                                          rule=rule.id))
                found[direction].append(name)
            if direction == "for":
                keep_for *= 1 - body["weight"]
            else:
                keep_against *= 1 - body["weight"]
            if rule.id not in rules:
                rules.append(rule.id)
        score = round((1 - keep_for) * keep_against, 3)
        if keep_for == 1.0 or score <= 0:
            continue
        ranked.append((-score, position, (
            condition, meta["title"], score, list(dict.fromkeys(found["for"])),
            list(dict.fromkeys(found["against"])), list(meta["tests"]), rules, items,
            list(dict.fromkeys(unconfirmed)))))
    ranked.sort(key=lambda entry: (entry[0], entry[1]))
    return [DifferentialEntry.built(condition=condition, title=title, rank=rank, score=score,
                                    for_=for_, against=against, tests=tests, rules=rules,
                                    evidence=items, unconfirmed=unconfirmed)
            for rank, (_, _, (condition, title, score, for_, against, tests, rules, items,
                              unconfirmed)) in enumerate(ranked, start=1)]
