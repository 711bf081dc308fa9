"""HTML report: a result -> one self-contained page a clinician reads (no scripts, no links out).

The page reads in the vocabulary's words (``outputs.reading``). Every line keeps, in an
element for the auditor (class ``audit``: a detail column, a fold-out, the trace), the
rules behind it, each with its version and its source: the passage label and the quoted
passage from the ruleset, or the reference it cites. The page is rendered from
``templates/result.html.j2`` (autoescaped); it loads nothing, and it reads on a phone
(tables stack into cards below 40rem).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..conclusions import Result
from ..ruleset.model import Ruleset
from ..templates import render_page
from .reading import read_result, ruleset_of


@dataclass(frozen=True)
class Citation:
    """The version and source of one rule, as the report cites it."""

    version: str
    label: str
    quote: str | None


def citations(result: Result, ruleset: Ruleset | None) -> dict[str, Citation]:
    """Rule id -> version and source, from the ruleset, else from the trace."""
    cites = {entry.rule: Citation(entry.version, entry.source, None) for entry in result.trace}
    if ruleset is None:
        return cites
    items = [rule.data for rule in ruleset.rules]
    items.append(ruleset.triage_default)
    for data in items:
        source = data["provenance"]["source"]
        passage = ruleset.passages.get(source.get("passage", ""))
        if passage is not None:
            cites[data["id"]] = Citation(data["version"], str(passage["label"]),
                                         str(passage["quote"]))
        else:
            words = "; ".join(str(source[k]) for k in ("reference", "note") if k in source)
            cites[data["id"]] = Citation(data["version"], words, None)
    return cites


def render_html(result: Result, ruleset: Ruleset | None = None) -> str:
    """The result as a self-contained HTML page.

    ``ruleset`` is the one that produced the result (its words, and each rule's quoted
    source passage); when omitted, the bundled ruleset or the release with the result's
    hash is used. Raises ``ValueError`` when the ruleset given is another one, or when none
    is given and none is found.
    """
    found = ruleset_of(result, ruleset)
    reading = read_result(result, found)
    return render_page("result.html.j2", title=f"Twitching assessment: {reading.level_label}",
                       reading=reading, cites=citations(result, found))
