"""Checklist: the article's six items, each met, not met or unknown, from the fired rules."""

from __future__ import annotations

from .firing import Firing
from .plan import plan_of
from .result import Checklist, ChecklistItem, ItemStatus


def build_checklist(firing: Firing) -> Checklist:
    """The checklist of one evaluation: an item is met if any fired rule says so."""
    plan = plan_of(firing.ruleset)
    plans, ids = plan.rules, plan.ids
    found: dict[str, tuple[set[str], list[str], list[str]]] = {}
    for index in firing.run.fired:
        for item, said_status, evidence in plans[index].checklist_rows:
            statuses, said, rules = found.get(item) or found.setdefault(item, (set(), [], []))
            statuses.add(said_status)
            said.append(evidence)
            rules.append(ids[index])
    make = ChecklistItem.in_order
    items = []
    count = 0
    for item_id, text in plan.checklist_items:
        entry = found.get(item_id)
        if entry is None:
            items.append(make({"id": item_id, "text": text, "status": "unknown", "evidence": [],
                               "rules": []}))
            continue
        statuses, said, rules = entry
        status: ItemStatus = "met" if "met" in statuses else "not_met"
        count += status == "met"
        items.append(make({"id": item_id, "text": text, "status": status,
                           "evidence": list(dict.fromkeys(said)), "rules": rules}))
    threshold = plan.checklist_threshold
    return Checklist.in_order({"items": items, "count": count, "threshold": threshold,
                               "referral": count >= threshold})
