"""Case records: one line of a JSON-lines cases file -> its id and its validated ``Case``.

A line is a case, or ``{"id": ..., "case": {...}}`` so results can be joined back to a
record. ``parse_record`` is how ``twitchrules batch`` decides a line is a valid case and how
``twitchrules verify`` tells a line the batch refused from one whose result is missing: the
same strict reader as ``twitchrules evaluate``, so a bad line gets the same field-naming errors.
"""

from __future__ import annotations

from typing import Any

from ..errors import CaseError
from .model import Case
from .reading import JsonProblem, case_from_mapping, parse_json

RecordId = str | int | None
"""The id a record gives itself (``{"id": ..., "case": ...}``), or ``None``."""

ENVELOPE_KEYS: tuple[str, ...] = ("id", "case")
"""The keys of a line that wraps its case with an id."""

MAX_LINE_BYTES = 1_000_000
"""Longest line accepted (a case is a few kilobytes); a longer one is refused by number."""


def parse_record(text: bytes) -> tuple[RecordId, Case]:
    """One input line -> its id (or ``None``) and its validated ``Case``; ``CaseError`` otherwise.

    The errors are those of ``twitchrules evaluate`` for the same case (locations relative
    to the case), plus ``id`` and unknown envelope keys for a ``{"id", "case"}`` line.
    """
    if len(text) > MAX_LINE_BYTES:
        raise CaseError([("case", f"the line is {len(text)} bytes long (at most {MAX_LINE_BYTES})")])
    try:
        document: Any = parse_json(text)
    except JsonProblem as problem:
        raise CaseError([(problem.location or "case", problem.message)]) from None
    if not (isinstance(document, dict) and "case" in document):
        return None, case_from_mapping(document)
    problems = [(str(key), f"'{key}' is not a known key of a line with an id (known: id, case)")
                for key in document if key not in ENVELOPE_KEYS]
    record_id = document.get("id")
    if record_id is not None and (isinstance(record_id, bool) or not isinstance(record_id, (str, int))):
        problems.append(("id", "must be a string or an integer"))
        record_id = None
    try:
        case = case_from_mapping(document["case"])
    except CaseError as error:
        problems.extend(error.problems)
    if problems:
        raise CaseError(problems)
    return record_id, case


def envelope_id(text: bytes) -> RecordId:
    """The id of a line that failed to parse as a record, where one can still be read."""
    try:
        document = parse_json(text)
    except JsonProblem:
        return None
    if isinstance(document, dict):
        value = document.get("id")
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return value
    return None
