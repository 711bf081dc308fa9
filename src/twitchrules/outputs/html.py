"""HTML report: a result -> one self-contained page a clinician reads (no scripts, no links out).

Every line of the page names the rules behind it, each with its version and its source:
the passage label and the quoted passage from the ruleset, or the reference it cites.
The page is rendered from ``templates/result.html.j2`` (autoescaped); it loads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..conclusions import Result
from ..ruleset.model import Ruleset
from ..templates import render_page


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

    Pass the ``Ruleset`` that produced the result to quote each rule's source passage;
    without it the page names each fired rule's version and source label from the trace.
    Raises ``ValueError`` when the ruleset is not the one that produced the result.
    """
    if ruleset is not None and ruleset.sha256 != result.ruleset.sha256:
        raise ValueError("the ruleset given is not the one that produced this result "
                         f"({ruleset.sha256[:12]}... vs {result.ruleset.sha256[:12]}...)")
    return render_page("result.html.j2", title=f"Twitching assessment: {result.triage.level}",
                       result=result, cites=citations(result, ruleset))
