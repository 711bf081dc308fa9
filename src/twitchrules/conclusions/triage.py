"""Triage: the highest level any fired rule sets, or the ruleset's default when none does."""

from __future__ import annotations

from ..case.vocabulary import level_rank
from .firing import Firing
from .result import Triage


def decide_triage(firing: Firing) -> tuple[Triage, bool]:
    """The triage of one evaluation, and whether the default was used (no triage rule fired)."""
    setting = [(rule, rule.triage) for rule in firing.fired if rule.triage is not None]
    if not setting:
        default = firing.ruleset.triage_default
        return Triage(level=default["level"], timeframe=default["timeframe"],
                      reasons=[default["reason"]], rules=[default["id"]]), True
    top = max(level_rank(body["level"]) for _, body in setting)
    chosen = [(rule, body) for rule, body in setting if level_rank(body["level"]) == top]
    return Triage(level=chosen[0][1]["level"], timeframe=chosen[0][1]["timeframe"],
                  reasons=list(dict.fromkeys(body["reason"] for _, body in chosen)),
                  rules=[rule.id for rule, _ in chosen]), False
