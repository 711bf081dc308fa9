"""Feedback: what clinicians did with the cards, read from the service's audit log.

The audit log has one ``call`` record per hook call (the cards it returned, the triage, the
fired rule ids and the ruleset's sha256) and one ``feedback`` record per piece of CDS Hooks
feedback (the card's uuid, ``accepted`` or ``overridden``, the override reason's code). A
card with no feedback was ignored; with several, the last one counts. The report tallies
cards per triage level (the card's kind) and per rule version (the cards a rule fired for),
with the override reasons' counts; rules overridden at least ``threshold`` of the time on
at least ``min_cards`` cards are listed first for review. A line that is not a JSON record
is skipped and named; the report goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .records import _open_lines
from .reproduce import find_ruleset

NOT_EVALUATED = "not-evaluated"
"""The card kind of an assessment that could not be evaluated (the problem card)."""


class Tally(BaseModel):
    """How often cards were accepted, overridden (with the reasons' counts) or ignored."""

    model_config = ConfigDict(extra="forbid")

    cards: int = 0
    accepted: int = 0
    overridden: int = 0
    ignored: int = 0
    override_reasons: dict[str, int] = Field(default_factory=dict)

    @property
    def override_rate(self) -> float:
        """Overridden cards as a share of all cards (0 when there are none)."""
        return round(self.overridden / self.cards, 3) if self.cards else 0.0

    def add(self, outcome: str | None, reason: str | None) -> None:
        """Count one card with its outcome (``None``: ignored)."""
        self.cards += 1
        if outcome == "accepted":
            self.accepted += 1
        elif outcome == "overridden":
            self.overridden += 1
            key = reason or "no reason given"
            self.override_reasons[key] = self.override_reasons.get(key, 0) + 1
        else:
            self.ignored += 1


class KindTally(Tally):
    """The cards of one kind: a summary card at one triage level, or the problem card."""

    kind: str


class RuleTally(Tally):
    """The cards one rule version fired for."""

    rule: str
    version: str
    title: str


class FeedbackReport(BaseModel):
    """Accepted, overridden and ignored cards of an audit log, per card kind and per rule."""

    model_config = ConfigDict(extra="forbid")

    log: str
    calls: int
    total: Tally
    by_kind: list[KindTally]
    by_rule: list[RuleTally]
    review_first: list[RuleTally] = Field(
        description="Rules overridden at least `threshold` of the time on at least `min_cards` "
        "cards, most overridden first.")
    threshold: float
    min_cards: int
    unmatched_feedback: int = Field(description="Feedback naming a card no call in the log returned.")
    skipped_lines: list[str] = Field(description="Lines that are not JSON records, named.")

    def to_json(self) -> str:
        """The report as JSON text, with each tally's override rate."""
        return json.dumps(_with_rates(self.model_dump(mode="json")), indent=2, ensure_ascii=False)


def _with_rates(data: Any) -> Any:
    if isinstance(data, dict):
        found = {key: _with_rates(value) for key, value in data.items()}
        if "overridden" in found and "cards" in found:
            found["override_rate"] = round(found["overridden"] / found["cards"], 3) if found["cards"] else 0.0
        return found
    if isinstance(data, list):
        return [_with_rates(item) for item in data]
    return data


def _records(path: Path, skipped: list[str]) -> Iterable[dict[str, Any]]:
    for number, line in _open_lines(path):
        try:
            record = json.loads(line)
        except ValueError:
            skipped.append(f"line {number}: not a JSON audit record")
            continue
        if isinstance(record, dict):
            yield record
        else:
            skipped.append(f"line {number}: not a JSON object")


def _rule_words(sha256: str) -> dict[str, tuple[str, str]]:
    """Rule id -> (version, title) in the ruleset with this sha256 (empty if not archived)."""
    ruleset = find_ruleset(sha256) if sha256 else None
    if ruleset is None:
        return {}
    return {rule.id: (rule.version, rule.title) for rule in ruleset.rules}


def feedback_report(log: str | Path, *, threshold: float = 0.5, min_cards: int = 3) -> FeedbackReport:
    """Tally the cards of an audit log by what clinicians did with them.

    Raises ``VerifyInputError`` (exit 2) when the file cannot be read.
    """
    path = Path(log)
    skipped: list[str] = []
    calls: list[dict[str, Any]] = []
    last: dict[str, tuple[str, str | None]] = {}  # card uuid -> (outcome, reason)
    for record in _records(path, skipped):
        if record.get("event") == "call" and isinstance(record.get("cards"), list):
            calls.append(record)
        elif record.get("event") == "feedback" and isinstance(record.get("card"), str):
            last[record["card"]] = (str(record.get("outcome")), record.get("overrideReason"))
    total = Tally()
    kinds: dict[str, KindTally] = {}
    rules: dict[tuple[str, str], RuleTally] = {}
    words: dict[str, dict[str, tuple[str, str]]] = {}  # ruleset sha256 -> its rules' words
    issued: set[str] = set()
    for call in calls:
        kind = str(call.get("triage") or NOT_EVALUATED)
        sha256 = str((call.get("ruleset") or {}).get("sha256") or "")
        if sha256 not in words:
            words[sha256] = _rule_words(sha256)
        for card in call["cards"]:
            issued.add(card)
            outcome, reason = last.get(card, (None, None))
            total.add(outcome, reason)
            kinds.setdefault(kind, KindTally(kind=kind)).add(outcome, reason)
            for rule_id in dict.fromkeys(call.get("fired_rules") or []):
                version, title = words[sha256].get(rule_id, ("unknown", rule_id))
                tally = rules.setdefault((rule_id, version),
                                         RuleTally(rule=rule_id, version=version, title=title))
                tally.add(outcome, reason)
    by_rule = sorted(rules.values(), key=lambda t: (t.rule, t.version))
    review = sorted((t for t in by_rule if t.cards >= min_cards and t.override_rate >= threshold),
                    key=lambda t: (-t.override_rate, -t.overridden, t.rule))
    return FeedbackReport(
        log=path.name, calls=len(calls), total=total,
        by_kind=sorted(kinds.values(), key=lambda t: _kind_order(t.kind)), by_rule=by_rule,
        review_first=review, threshold=threshold, min_cards=min_cards,
        unmatched_feedback=sum(1 for card in last if card not in issued), skipped_lines=skipped)


def _kind_order(kind: str) -> tuple[int, str]:
    from ..case.vocabulary import TRIAGE_LEVELS

    return (-TRIAGE_LEVELS.index(kind), kind) if kind in TRIAGE_LEVELS else (1, kind)
