"""Reviews: the append-only log of clinicians' sign-offs, one JSON line per decision.

A review names the rule, the exact content it approved or rejected (the rule's version and
the sha256 of its canonical JSON, the hash the lock records), who (``by``, ``role``), when
(UTC) and the decision, with an optional note. The log lives beside the rules as
``reviews.jsonl`` (the loader never merges it into the ruleset, so a review never changes the
ruleset's hash). Each entry seals itself: its ``sha256`` is that of its own canonical JSON
(every other field, ``previous_sha256`` included), and ``previous_sha256`` is the ``sha256``
of the entry before it. So an edited entry (the last one too) no longer matches its own
hash, and a removed or reordered entry breaks the chain; ``ruleset validate`` names the line.

The end of the log is anchored by ``reviews.head.json`` beside it, which ``ruleset review``
rewrites with every entry it appends: ``{"entries": N, "sha256": <the last entry's sha256>}``.
A log that ends before the head (its last entries removed), after it (lines appended by
hand, or a review interrupted between its two writes) or at another entry is refused too.
What no check here can see is a log and a head rewritten together, every hash recomputed:
the chain is evidence against accidental and careless changes, not a signature; the
version history of the folder (git) is the record against deliberate ones.

A review is never inferred: the rule files keep ``status: draft, reviewer: null`` and the
audit shows, per rule, the latest review in the log and whether it is *stale* (the rule's
content changed since it was reviewed).
"""

from __future__ import annotations

import datetime as dt
import difflib
import fcntl
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import RulesetError
from ..files import write_whole
from .load import read_utf8
from .model import Ruleset, canonical_sha256

REVIEWS_FILE = "reviews.jsonl"
REVIEWS_HEAD_FILE = "reviews.head.json"
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
    sha256: str
    """sha256 of the entry's canonical JSON without this field (see ``entry_sha256``)."""

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


def review_head_path(log: str | Path) -> Path:
    """Where the head of a review log is kept: ``reviews.head.json`` beside it."""
    return Path(log).with_name(REVIEWS_HEAD_FILE)


def entry_sha256(entry: Mapping[str, Any]) -> str:
    """sha256 of a log entry's canonical JSON, every field but ``sha256`` itself."""
    return canonical_sha256({key: value for key, value in entry.items() if key != "sha256"})


def _read_lines(path: Path) -> list[str]:
    return read_utf8(path, str(path)).splitlines() if path.is_file() else []


def _entries(path: Path) -> list[Review]:
    """The log's entries, each checked against its own hash and the one before it."""
    reviews: list[Review] = []
    previous: str | None = None
    fields = set(Review.__dataclass_fields__)
    for number, line in enumerate(_read_lines(path), start=1):
        where = f"{path}: line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise RulesetError([(where, f"is not a JSON object: {error.msg}")]) from None
        if isinstance(data, dict) and set(data) == fields - {"sha256"}:
            raise RulesetError([(where, "is an entry of the earlier log format, without a sha256 of its "
                                 "own: such a log cannot show that its entries are unchanged")])
        if not isinstance(data, dict) or set(data) != fields:
            raise RulesetError([(where, f"must hold exactly {sorted(fields)}")])
        if data["sha256"] != entry_sha256(data):
            raise RulesetError([(where, "does not match its own sha256: the entry was edited; "
                                 "entries may only be added")])
        if data["previous_sha256"] != previous:
            raise RulesetError([(where, "does not follow the entry before it (previous_sha256 "
                                 "differs): an entry was removed, moved or edited; entries may only be added")])
        if data["decision"] not in DECISIONS:
            raise RulesetError([(f"{where}: decision", f"must be one of {list(DECISIONS)}")])
        reviews.append(Review(**data))
        previous = data["sha256"]
    return reviews


def _head(reviews: list[Review]) -> dict[str, Any]:
    return {"entries": len(reviews), "sha256": reviews[-1].sha256 if reviews else None}


def _check_head(path: Path, reviews: list[Review]) -> None:
    """Refuse a log whose end is not the one its head records (``RulesetError`` naming both files)."""
    head_path = review_head_path(path)
    if not head_path.is_file():
        if reviews:
            raise RulesetError([(str(head_path), f"is missing while {path.name} holds {len(reviews)} "
                                 f"entries: the end of the log cannot be checked")])
        return
    try:
        head = json.loads(head_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        head = None
    if (not isinstance(head, dict) or set(head) != {"entries", "sha256"}
            or not isinstance(head["entries"], int) or isinstance(head["entries"], bool)):
        raise RulesetError([(str(head_path), 'must hold exactly {"entries": N, "sha256": ...}')])
    recorded = head["entries"]
    if recorded > len(reviews):
        raise RulesetError([(f"{path}: line {len(reviews) + 1}", f"is missing: {head_path.name} records "
                             f"{recorded} entries, the log holds {len(reviews)}; entries were removed")])
    if recorded < len(reviews):
        raise RulesetError([(f"{path}: line {recorded + 1}", f"comes after the last entry {head_path.name} "
                             f"records ({recorded}): it was not written by `ruleset review`, or the review "
                             "was interrupted before it recorded the head")])
    if head["sha256"] != _head(reviews)["sha256"]:
        raise RulesetError([(f"{path}: line {len(reviews)}", f"is not the entry {head_path.name} records "
                             "as the last one: the entry was replaced")])


def read_reviews(path: str | Path) -> list[Review]:
    """Every entry of a review log, oldest first; ``RulesetError`` naming a bad, edited or missing line."""
    path = Path(path)
    reviews = _entries(path)
    _check_head(path, reviews)
    return reviews


def _write_head(path: Path, reviews: list[Review]) -> None:
    """Record the log's end in its head file, whole or not at all (``twitchrules.files``)."""
    write_whole(review_head_path(path), json.dumps(_head(reviews), sort_keys=True) + "\n")


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
    read_reviews(path)  # refuse a broken log before opening it creates one
    with open(path, "a+", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)  # two reviewers at once still make one chain
        reviews = read_reviews(path)  # again under the lock: refuse to extend a log that was edited
        entry: dict[str, Any] = {
            "rule": rule_id, "rule_version": str(data["version"]), "rule_sha256": canonical_sha256(data),
            "decision": decision, "by": str(reviewer), "role": str(reviewer_role),
            "at": when.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "note": _clean(note, "note", required=False), "ruleset": ruleset.name,
            "ruleset_version": ruleset.version,
            "previous_sha256": reviews[-1].sha256 if reviews else None}
        review = Review(**entry, sha256=entry_sha256(entry))
        log.seek(0, os.SEEK_END)
        log.write(json.dumps(review.to_dict(), sort_keys=True, ensure_ascii=False) + "\n")
        log.flush()
        os.fsync(log.fileno())
        _write_head(path, [*reviews, review])  # still under the lock: the head follows the log
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
