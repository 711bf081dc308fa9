"""Triage: the highest level any fired rule sets, or the ruleset's default when none does.

The timeframe shown is the most pressing one among the rules that set that level, in the
order the ruleset declares (``definitions.timeframe_urgency``, each triage naming its
category as ``within``); ties, and rulesets that declare no order, keep firing order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..case.vocabulary import level_rank
from .firing import Firing
from .plan import plan_of
from .result import Triage


def triage_level(firing: Firing) -> str:
    """The triage level of one evaluation: the highest a fired rule sets, else the default's."""
    levels = [str(rule.triage["level"]) for rule in firing.fired if rule.triage is not None]
    if not levels:
        return str(firing.ruleset.triage_default["level"])
    return max(levels, key=level_rank)


def decide_triage(firing: Firing) -> tuple[Triage, bool]:
    """The triage of one evaluation, and whether the default was used (no triage rule fired)."""
    plans = plan_of(firing.ruleset).rules
    setting = [(rule, rule.triage, plans[rule.index].triage_rank) for rule in firing.fired
               if rule.triage is not None]
    if not setting:
        default = firing.ruleset.triage_default
        return Triage.in_order({"level": default["level"], "timeframe": default["timeframe"],
                                "reasons": [default["reason"]], "rules": [default["id"]]}), True
    top = max(rank for _, _, rank in setting)
    chosen = [(rule, body) for rule, body, rank in setting if rank == top]
    pressing = _most_pressing([body for _, body in chosen], firing.ruleset.timeframe_rank)
    return Triage.in_order({"level": pressing["level"], "timeframe": pressing["timeframe"],
                            "reasons": list(dict.fromkeys(body["reason"] for _, body in chosen)),
                            "rules": [rule.id for rule, _ in chosen]}), False


def _most_pressing(bodies: list[Mapping[str, Any]], rank: Mapping[str, int]) -> Mapping[str, Any]:
    """The triage whose timeframe is most pressing (the first of equals; the first if no order)."""
    if not rank:
        return bodies[0]
    return min(bodies, key=lambda body: rank[body["within"]])
