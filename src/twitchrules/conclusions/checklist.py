"""Checklist: the article's six items, each met, not met or unknown, from the fired rules."""

from __future__ import annotations

from .firing import Firing
from .result import Checklist, ChecklistItem, ItemStatus


def build_checklist(firing: Firing) -> Checklist:
    """The checklist of one evaluation: an item is met if any fired rule says so."""
    spec = firing.ruleset.data["checklist"]
    found: dict[str, tuple[set[str], list[str], list[str]]] = {
        item["id"]: (set(), [], []) for item in spec["items"]}
    for rule in firing.fired:
        for body in rule.conclusions("checklist"):
            statuses, evidence, rules = found[body["item"]]
            statuses.add(body["status"])
            evidence.append(body["evidence"])
            rules.append(rule.id)
    items = []
    for item in spec["items"]:
        statuses, evidence, rules = found[item["id"]]
        status: ItemStatus = "met" if "met" in statuses else "not_met" if statuses else "unknown"
        items.append(ChecklistItem.built(id=item["id"], text=item["text"], status=status,
                                   evidence=list(dict.fromkeys(evidence)), rules=rules))
    count = sum(item.status == "met" for item in items)
    return Checklist.built(items=items, count=count, threshold=spec["threshold"],
                     referral=count >= spec["threshold"])
