"""Render an explanation: text for the terminal, JSON for programs, HTML inside the report."""

from __future__ import annotations

from ..conclusions import Result
from ..outputs.html import citations
from ..outputs.reading import read_result, ruleset_of
from ..ruleset.model import Ruleset
from ..templates import render_page
from .model import Explanation, Grounds, NearMiss, TriageGrounds

EXPLAIN_FORMATS: tuple[str, ...] = ("text", "json", "html")
"""The formats ``render_explanation`` writes."""


def render_explanation(explanation: Explanation, result: Result, output_format: str,
                       ruleset: Ruleset | None = None) -> str:
    """An explanation in one of ``EXPLAIN_FORMATS`` (HTML: the whole report with its explanation)."""
    if output_format == "json":
        return explanation.to_json() + "\n"
    if output_format == "html":
        return explanation_html(explanation, result, ruleset)
    if output_format == "text":
        return explanation_text(explanation)
    raise ValueError(f"unknown format {output_format!r} (known: {', '.join(EXPLAIN_FORMATS)})")


def explanation_html(explanation: Explanation, result: Result, ruleset: Ruleset | None = None) -> str:
    """The HTML report of ``result`` with the explanation as its own section (``#explanation``)."""
    found = ruleset_of(result, ruleset)
    reading = read_result(result, found)
    return render_page("explain.html.j2", title=f"Twitching assessment explained: {reading.level_label}",
                       reading=reading, cites=citations(result, found), explanation=explanation)


def _words(items: list[str]) -> str:
    return "; ".join(items) if items else "-"


def _grounds(grounds: Grounds) -> list[str]:
    if isinstance(grounds, TriageGrounds):  # nothing argues against the highest level
        middle = f"    also found, pointing to a lower level: {_words(grounds.lower_level)}"
    else:
        middle = f"    conflicting: {_words(grounds.conflicting)}"
    return [f"    supporting: {_words(grounds.supporting)}", middle,
            f"    not known, would matter: {_words(grounds.unconfirmed)}"]


def _misses(items: list[NearMiss]) -> list[str]:
    lines = []
    for miss in items:
        needs = "; ".join(
            f"needs {test.wanted} ({'not known' if test.unknown else 'the case says: ' + test.actual})"
            for test in miss.failed)
        lines.append(f"    - {miss.title}: {needs}")
    return lines


def explanation_text(explanation: Explanation) -> str:
    """The explanation as plain text, in clinician words (rule ids only in the last part)."""
    lines = [f"Why {explanation.triage.label.lower()}:", *_grounds(explanation.triage)]
    for entry in explanation.differential:
        lines += [f"Why {entry.title} ({entry.support}):", *_grounds(entry)]
    lines += ["", "Why not a higher level:"]
    if not explanation.why_not_levels:
        lines.append("    (the triage is at the highest level)")
    for level in explanation.why_not_levels:
        lines += [f"  {level.label}:", *_misses(level.nearest)]
    lines += ["", "Why not another condition:"]
    for condition in explanation.why_not_conditions:
        lines += [f"  {condition.title}:", *_misses(condition.nearest)]
    search = explanation.search
    lines += ["", f"What would change it ({search.engine_runs} re-evaluations"
              + (f", stopped at the cap of {search.cap})" if search.capped else ")") + ":"]
    if not explanation.what_if:
        lines.append("    (no change of one or two findings changes the triage or the differential)")
    for item in explanation.what_if:
        lines.append(f"  - if {' and '.join(change.words for change in item.changes)}: {item.summary}")
    lines += ["", "For the auditor: rules that would fire after each change:"]
    for item in explanation.what_if:
        changes = ", ".join(f"{change.input}={change.after}" for change in item.changes)
        lines.append(f"  {changes}: {', '.join(item.rules_fired) or '-'}")
    return "\n".join(lines) + "\n"
