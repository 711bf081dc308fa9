"""Differential: each condition's score from the evidence of the fired rules, ranked.

A condition's score is ``(1 - prod(1 - w_for)) * prod(1 - w_against)`` over the weights of
its fired evidence; a condition with no supporting evidence is not listed.
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
    ranked: list[tuple[float, int, dict[str, Any]]] = []
    for position, (condition, meta) in enumerate(firing.ruleset.data["conditions"].items()):
        keep_for, keep_against = 1.0, 1.0
        found: dict[str, list[str]] = {"for": [], "against": []}
        rules: list[str] = []
        items: list[EvidenceItem] = []
        for rule, body in evidence.get(condition, ()):
            direction = body["direction"]
            items.extend(EvidenceItem(finding=name, value=firing.value_of(name),
                                      direction=direction, rule=rule.id)
                         for name in body["findings"])
            if direction == "for":
                keep_for *= 1 - body["weight"]
            else:
                keep_against *= 1 - body["weight"]
            found[direction].extend(body["findings"])
            if rule.id not in rules:
                rules.append(rule.id)
        score = round((1 - keep_for) * keep_against, 3)
        if keep_for == 1.0 or score <= 0:
            continue
        ranked.append((-score, position, {
            "condition": condition, "title": meta["title"], "score": score,
            "for_": list(dict.fromkeys(found["for"])),
            "against": list(dict.fromkeys(found["against"])),
            "tests": list(meta["tests"]), "rules": rules, "evidence": items}))
    ranked.sort(key=lambda entry: (entry[0], entry[1]))
    return [DifferentialEntry(rank=rank, **fields)
            for rank, (_, _, fields) in enumerate(ranked, start=1)]
