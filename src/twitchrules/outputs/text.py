"""Text report: a result -> the readable explanation the CLI prints by default.

Everything above the "For the auditor" line is in a clinician's words (the vocabulary's);
rule ids, fact names and versions are kept for the auditor below it, in the trace.
"""

from __future__ import annotations

from ..conclusions import Result
from ..ruleset.model import Ruleset
from .reading import Reading, read_result

AUDIT_HEADING = "For the auditor: the rules that fired, in firing order"
"""The line after which the text report names rules, facts and versions by their ids."""

_MARKS = {"met": "[x]", "not_met": "[ ]", "unknown": "[?]"}


def render_text(result: Result, ruleset: Ruleset | None = None) -> str:
    """A plain-text explanation of a result: the clinician's part in words, then the trace.

    ``ruleset`` is the one that produced the result; when omitted, the bundled ruleset or
    the release with the result's hash is used (``ValueError`` if there is none).
    """
    reading = read_result(result, ruleset)
    lines = _triage(reading) + _differential(reading) + _recommendations(result)
    lines += _checklist(reading) + _questions(reading)
    lines += [f"Note: {notice.message}" for notice in result.notices]
    lines += ["", AUDIT_HEADING + ":"]
    for step in reading.trace:
        lines.append(f"  {step.rule} v{step.version}: {step.title}")
        lines.append(f"      matched: {', '.join(step.matched) or 'always'}")
        lines += [f"      -> {concluded}" for concluded in step.concluded]
        lines.append(f"      source: {step.source}")
    info = result.ruleset
    lines += ["", f"Ruleset {info.name} {info.version} sha256 {info.sha256}; "
              f"engine {result.engine.name} {result.engine.version}; twitchrules {result.package_version}"]
    return "\n".join(lines) + "\n"


def _triage(reading: Reading) -> list[str]:
    triage = reading.result.triage
    lines = [f"Triage: {reading.level_label.upper()} - {triage.timeframe}"]
    lines += [f"  because: {reason}" for reason in triage.reasons]
    return [*lines, ""]


def _differential(reading: Reading) -> list[str]:
    lines = ["Differential (most supported first):"]
    if not reading.differential:
        lines.append("  (no condition has supporting evidence)")
    for entry in reading.differential:
        lines.append(f"  {entry.rank}. {entry.title}: {entry.support}")
        if entry.supported_by:
            lines.append(f"     for: {entry.supported_by}")
        if entry.against:
            lines.append(f"     against: {entry.against}")
        if entry.unconfirmed:
            lines.append(f"     not known (not counted): {', '.join(entry.unconfirmed).lower()}")
        if entry.tests:
            lines.append(f"     next tests: {'; '.join(entry.tests)}")
    if reading.differential:
        lines.append(f"  ({reading.support_explained})")
    return [*lines, ""]


def _recommendations(result: Result) -> list[str]:
    lines = ["Recommendations:"]
    lines += [f"  - {rec.text} ({rec.source})" for rec in result.recommendations]
    if not result.recommendations:
        lines.append("  (none)")
    return [*lines, ""]


def _checklist(reading: Reading) -> list[str]:
    checklist = reading.result.checklist
    referral = " - refer to a neurologist promptly" if checklist.referral else ""
    lines = [f"When to refer (the article's checklist): {checklist.count} of {len(checklist.items)} "
             f"apply; {checklist.threshold} or more call for referral{referral}"]
    lines += [f"  {_MARKS[item.status]} {item.text} ({item.status_words})" for item in reading.checklist]
    return [*lines, ""]


def _questions(reading: Reading) -> list[str]:
    if not reading.questions:
        return []
    lines = ["Questions to ask (the answers could change this assessment; most consequential first):"]
    for group in reading.questions:
        lines.append(f"  {group.heading}:")
        for question in group.questions:
            line = f"    - {question.text}"
            if question.consequence:
                line += f" {question.consequence}"
            if question.bears_on:
                line += f" Bears on: {', '.join(question.bears_on)}."
            lines.append(line)
    return [*lines, ""]
