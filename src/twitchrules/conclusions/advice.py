"""Advice: the recommendations and notices of the fired rules, each once, in firing order.

A recommendation may say where it belongs: ``up_to_level`` (not given beside a higher
triage, so a lifestyle trial never stands next to an urgent referral) and ``unless`` (not
given when one of the named facts is known true, e.g. melatonin advice unless pregnant).
Withheld advice stays in the trace, which records what each rule concluded.
"""

from __future__ import annotations

from ..case.vocabulary import level_rank
from .firing import Firing
from .plan import RecommendRow, plan_of
from .result import Notice, Recommendation
from .triage import triage_level


def build_recommendations(firing: Firing, level_word: str | None = None) -> list[Recommendation]:
    """Each recommendation once, with every fired rule that gave it, if it fits the result
    (at ``level_word``, the triage level when the caller knows it already)."""
    level = level_rank(triage_level(firing) if level_word is None else level_word)
    plan = plan_of(firing.ruleset)
    plans, ids = plan.rules, plan.ids
    found: dict[str, tuple[RecommendRow, list[str]]] = {}
    for index in firing.run.fired:
        for row in plans[index].recommend_rows:
            if not _belongs(row, level, firing):
                continue
            entry = found.get(row.id)
            if entry is None:
                found[row.id] = (row, [ids[index]])
            elif ids[index] not in entry[1]:
                entry[1].append(ids[index])
    make = Recommendation.in_order
    return [make({"id": row.id, "text": row.text, "rules": rules, "source": row.source})
            for row, rules in found.values()]


def _belongs(row: RecommendRow, level: int, firing: Firing) -> bool:
    """Whether a recommendation fits a result at this level with these facts."""
    if row.up_to_rank is not None and level > row.up_to_rank:
        return False
    return not any(firing.value_of(name) is True for name in row.unless)


def build_notices(firing: Firing) -> list[Notice]:
    """Each notice code once (the first fired rule's message)."""
    plans = plan_of(firing.ruleset).rules
    found: dict[str, Notice] = {}
    for index in firing.run.fired:
        for code, message in plans[index].notice_rows:
            if code not in found:
                found[code] = Notice.in_order({"code": code, "message": message})
    return list(found.values())
