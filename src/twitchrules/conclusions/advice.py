"""Advice: the recommendations and notices of the fired rules, each once, in firing order."""

from __future__ import annotations

from .firing import Firing
from .result import Notice, Recommendation


def build_recommendations(firing: Firing) -> list[Recommendation]:
    """Each recommendation once, with every fired rule that gave it."""
    found: dict[str, tuple[dict[str, str], list[str]]] = {}
    for rule in firing.fired:
        for body in rule.conclusions("recommend"):
            _, rules = found.setdefault(body["id"], (body, []))
            if rule.id not in rules:
                rules.append(rule.id)
    return [Recommendation(id=body["id"], text=body["text"], rules=rules, source=body["source"])
            for body, rules in found.values()]


def build_notices(firing: Firing) -> list[Notice]:
    """Each notice code once (the first fired rule's message)."""
    found: dict[str, Notice] = {}
    for rule in firing.fired:
        for body in rule.conclusions("notice"):
            found.setdefault(body["code"], Notice(code=body["code"], message=body["message"]))
    return list(found.values())
