"""Canonical case: one text, and one sha256, for every way of writing the same assessment.

The canonical form is the validated ``Case`` as contract JSON: unknown findings left out,
defaults written out (``course: unknown``), keys sorted, no whitespace, UTF-8. Two case
files that differ only in key order, spacing, or an explicit ``null`` give the same sha256,
so an audit record can name the case it evaluated without holding any of its content.
"""

from __future__ import annotations

import hashlib
import json

from .model import Case


def canonical_case_json(case: Case) -> str:
    """The canonical JSON text of a validated case (sorted keys, compact, unknowns left out)."""
    data = case.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def case_sha256(case: Case) -> str:
    """The sha256 (hex) of a case's canonical JSON: names the case without showing it."""
    return hashlib.sha256(canonical_case_json(case).encode("utf-8")).hexdigest()
