"""Advice: the recommendations and notices of the fired rules, each once, in firing order.

A recommendation may say where it belongs: ``up_to_level`` (not given beside a higher
triage, so a lifestyle trial never stands next to an urgent referral) and ``unless`` (not
given when one of the named facts is known true, e.g. melatonin advice unless pregnant).
Withheld advice stays in the trace, which records what each rule concluded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..case.vocabulary import level_rank
from .firing import Firing
from .result import Notice, Recommendation
from .triage import triage_level


def build_recommendations(firing: Firing, level_word: str | None = None) -> list[Recommendation]:
    """Each recommendation once, with every fired rule that gave it, if it fits the result
    (at ``level_word``, the triage level when the caller knows it already)."""
    level = level_rank(triage_level(firing) if level_word is None else level_word)
    found: dict[str, tuple[dict[str, str], list[str]]] = {}
    for rule in firing.fired:
        for body in rule.conclusions("recommend"):
            if not _belongs(body, level, firing):
                continue
            _, rules = found.setdefault(body["id"], (body, []))
            if rule.id not in rules:
                rules.append(rule.id)
    return [Recommendation.built(id=body["id"], text=body["text"], rules=rules, source=body["source"])
            for body, rules in found.values()]


def _belongs(body: Mapping[str, Any], level: int, firing: Firing) -> bool:
    """Whether a recommendation fits a result at this level with these facts."""
    up_to = body.get("up_to_level")
    if up_to is not None and level > level_rank(up_to):
        return False
    return not any(firing.value_of(name) is True for name in body.get("unless", ()))


def build_notices(firing: Firing) -> list[Notice]:
    """Each notice code once (the first fired rule's message)."""
    found: dict[str, Notice] = {}
    for rule in firing.fired:
        for body in rule.conclusions("notice"):
            found.setdefault(body["code"], Notice.built(code=body["code"], message=body["message"]))
    return list(found.values())
