"""Delta: one case's result on the old and the new ruleset -> what changed, part by part.

Two results differ when anything in them differs except which ruleset made them (name,
version, sha256) and the versions the trace gives each rule. The delta names every part
that changed (triage, differential, checklist, recommendations, notices, missing
information, trace) and the rules that fired on one side only, which ``attribution`` joins
with the ruleset diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..conclusions import Result
from .lines import RecordId

PARTS: tuple[str, ...] = (
    "triage", "differential", "checklist", "recommendations", "notices", "missing_information",
    "trace",
)
"""The parts of a result a delta compares, in report order."""


@dataclass(frozen=True)
class CaseDelta:
    """What changed for one case between the old and the new ruleset."""

    line: int
    id: RecordId
    old_level: str
    new_level: str
    parts: tuple[str, ...]
    entered: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    rank_changed: tuple[tuple[str, int, int], ...] = ()
    score_changed: tuple[str, ...] = ()
    checklist: tuple[tuple[str, str, str], ...] = ()
    recommendations_added: tuple[str, ...] = ()
    recommendations_removed: tuple[str, ...] = ()
    recommendations_reworded: tuple[str, ...] = ()
    notices_added: tuple[str, ...] = ()
    notices_removed: tuple[str, ...] = ()
    missing_added: tuple[str, ...] = ()
    missing_removed: tuple[str, ...] = ()
    rules_old_only: tuple[str, ...] = ()
    rules_new_only: tuple[str, ...] = ()
    rules_both: tuple[str, ...] = ()
    facts_changed: tuple[str, ...] = field(default=())


def _comparable(result: Result) -> dict[str, Any]:
    data = result.to_dict()
    data.pop("ruleset")
    for entry in data["trace"]:
        entry.pop("version")
    return data


def _added_removed(old: list[str], new: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    old_set, new_set = set(old), set(new)
    return (tuple(x for x in new if x not in old_set), tuple(x for x in old if x not in new_set))


def compare_results(line: int, record_id: RecordId, old: Result, new: Result,
                    facts_changed: tuple[str, ...] = ()) -> CaseDelta | None:
    """The delta of one case, or ``None`` when its two results are the same."""
    old_data, new_data = _comparable(old), _comparable(new)
    if old_data == new_data:
        return None
    parts = tuple(part for part in PARTS if old_data[part] != new_data[part])
    old_dx = {entry.condition: entry for entry in old.differential}
    new_dx = {entry.condition: entry for entry in new.differential}
    entered, left = _added_removed(list(old_dx), list(new_dx))
    rank_changed = tuple((name, old_dx[name].rank, new_dx[name].rank) for name in new_dx
                         if name in old_dx and old_dx[name].rank != new_dx[name].rank)
    score_changed = tuple(name for name in new_dx
                          if name in old_dx and old_dx[name].score != new_dx[name].score)
    old_items = {item.id: item.status for item in old.checklist.items}
    checklist = tuple((item.id, old_items.get(item.id, "absent"), item.status)
                      for item in new.checklist.items if old_items.get(item.id) != item.status)
    old_recs = {rec.id: rec.text for rec in old.recommendations}
    new_recs = {rec.id: rec.text for rec in new.recommendations}
    recs_added, recs_removed = _added_removed(list(old_recs), list(new_recs))
    reworded = tuple(rec for rec in new_recs if rec in old_recs and old_recs[rec] != new_recs[rec])
    notices_added, notices_removed = _added_removed([n.code for n in old.notices],
                                                    [n.code for n in new.notices])
    missing_added, missing_removed = _added_removed([m.input for m in old.missing_information],
                                                    [m.input for m in new.missing_information])
    old_fired = [entry.rule for entry in old.trace] + old.triage.rules
    new_fired = [entry.rule for entry in new.trace] + new.triage.rules
    new_only, old_only = _added_removed(old_fired, new_fired)
    new_set = set(new_fired)
    both = tuple(dict.fromkeys(rule for rule in old_fired if rule in new_set))
    return CaseDelta(
        line=line, id=record_id, old_level=old.triage.level, new_level=new.triage.level,
        parts=parts, entered=entered, left=left, rank_changed=rank_changed,
        score_changed=score_changed, checklist=checklist, recommendations_added=recs_added,
        recommendations_removed=recs_removed, recommendations_reworded=reworded,
        notices_added=notices_added, notices_removed=notices_removed,
        missing_added=missing_added, missing_removed=missing_removed,
        rules_old_only=tuple(dict.fromkeys(old_only)), rules_new_only=tuple(dict.fromkeys(new_only)),
        rules_both=both, facts_changed=facts_changed,
    )
