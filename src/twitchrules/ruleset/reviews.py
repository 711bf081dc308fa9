"""Reviews: the append-only log of clinicians' sign-offs, one JSON line per decision.

A review names the rule, the exact content it approved or rejected (the rule's version and
the sha256 of its canonical JSON, the hash the lock records), who (``by``, ``role``), when
(UTC) and the decision, with an optional note. The log lives beside the rules as
``reviews.jsonl`` (the loader never merges it into the ruleset, so a review never changes the
ruleset's hash). Each line carries the sha256 of the line before it, so an edited, removed
or reordered line breaks the chain and ``ruleset validate`` names it: entries can only be
added.

A review is never inferred: the rule files keep ``status: draft, reviewer: null`` and the
audit shows, per rule, the latest review in the log and whether it is *stale* (the rule's
content changed since it was reviewed).
"""

from __future__ import annotations

import datetime as dt
import difflib
import fcntl
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import RulesetError
from .model import Ruleset, canonical_sha256

REVIEWS_FILE = "reviews.jsonl"
DECISIONS: tuple[str, ...] = ("approve", "reject")
_MAX_TEXT = 500


@dataclass(frozen=True)
class Review:
    """One signed-off decision about one version of one rule."""

    rule: str
    rule_version: str
    rule_sha256: str
    decision: str
    by: str
    role: str
    at: str
    note: str | None
    ruleset: str
    ruleset_version: str
    previous_sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        """The entry as it is written (one JSON object)."""
        return asdict(self)


@dataclass(frozen=True)
class ReviewState:
    """A rule's latest review and whether the rule changed since (``stale``)."""

    review: Review
    stale: bool


def reviews_path(ruleset: Ruleset | str | Path) -> Path | None:
    """The review log of a ruleset folder (``None`` for a single-file ruleset)."""
    path = Path(ruleset.path if isinstance(ruleset, Ruleset) else ruleset)
    return path / REVIEWS_FILE if path.is_dir() else None


def _line_sha256(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def read_reviews(path: str | Path) -> list[Review]:
    """Every entry of a review log, oldest first; ``RulesetError`` naming a bad or edited line."""
    path = Path(path)
    if not path.is_file():
        return []
    reviews: list[Review] = []
    previous: str | None = None
    fields = set(Review.__dataclass_fields__)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        where = f"{path}: line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise RulesetError([(where, f"is not a JSON object: {error.msg}")]) from None
        if not isinstance(data, dict) or set(data) != fields:
            raise RulesetError([(where, f"must hold exactly {sorted(fields)}")])
        if data["previous_sha256"] != previous:
            raise RulesetError([(where, "does not follow the line before it (previous_sha256 "
                                 "differs): the log was edited; entries may only be added")])
        if data["decision"] not in DECISIONS:
            raise RulesetError([(f"{where}: decision", f"must be one of {list(DECISIONS)}")])
        reviews.append(Review(**data))
        previous = _line_sha256(line)
    return reviews


def _clean(value: str | None, name: str, required: bool = True) -> str | None:
    text = " ".join((value or "").split())
    if required and not text:
        raise RulesetError([(f"--{name}", "must name someone (a non-empty text)")])
    if len(text) > _MAX_TEXT:
        raise RulesetError([(f"--{name}", f"is longer than {_MAX_TEXT} characters")])
    return text or None


def _reviewed_item(ruleset: Ruleset, rule_id: str) -> Mapping[str, Any]:
    items = {rule.id: rule.data for rule in ruleset.rules}
    items[ruleset.triage_default["id"]] = ruleset.triage_default
    if rule_id not in items:
        close = difflib.get_close_matches(rule_id, list(items), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise RulesetError([(rule_id, f"is not a rule of {ruleset.name} {ruleset.version}{hint}")])
    return items[rule_id]


def record_review(ruleset: Ruleset, rule_id: str, by: str, role: str, decision: str,
                  note: str | None = None, now: dt.datetime | None = None) -> Review:
    """Append one review of the rule's current content to the ruleset folder's log; return it.

    Refuses (``RulesetError``, exit 2; nothing written) an unknown rule, an empty reviewer or
    role, an unknown decision, a ruleset that is not a folder, and a log that was edited.
    """
    path = reviews_path(ruleset)
    if path is None:
        raise RulesetError([(ruleset.path, "reviews are recorded in a ruleset folder's reviews.jsonl")])
    if decision not in DECISIONS:
        raise RulesetError([("--decision", f"must be one of {list(DECISIONS)}")])
    data = _reviewed_item(ruleset, rule_id)
    reviewer, reviewer_role = _clean(by, "by"), _clean(role, "role")
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    with open(path, "a+", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)  # two reviewers at once still make one chain
        read_reviews(path)  # refuse to extend a log that was edited
        log.seek(0)
        lines = log.read().splitlines()
        review = Review(
            rule=rule_id, rule_version=str(data["version"]), rule_sha256=canonical_sha256(data),
            decision=decision, by=str(reviewer), role=str(reviewer_role),
            at=when.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            note=_clean(note, "note", required=False), ruleset=ruleset.name,
            ruleset_version=ruleset.version,
            previous_sha256=_line_sha256(lines[-1]) if lines else None)
        log.seek(0, os.SEEK_END)
        log.write(json.dumps(review.to_dict(), sort_keys=True, ensure_ascii=False) + "\n")
        log.flush()
        os.fsync(log.fileno())
    return review


def latest_reviews(ruleset: Ruleset) -> dict[str, ReviewState]:
    """Rule id -> its latest review in the log and whether the rule changed since."""
    path = reviews_path(ruleset)
    if path is None:
        return {}
    current = {rule.id: canonical_sha256(rule.data) for rule in ruleset.rules}
    current[ruleset.triage_default["id"]] = canonical_sha256(ruleset.triage_default)
    latest: dict[str, ReviewState] = {}
    for review in read_reviews(path):
        if review.rule in current:
            latest[review.rule] = ReviewState(review, review.rule_sha256 != current[review.rule])
    return latest
