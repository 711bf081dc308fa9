"""Render a feedback report: text, JSON, or an HTML page with an inline SVG chart (no scripts)."""

from __future__ import annotations

from dataclasses import dataclass

from ..templates import render_page
from .feedback import FeedbackReport, Tally

FEEDBACK_FORMATS: tuple[str, ...] = ("text", "json", "html")
"""The formats ``render_feedback`` writes."""

_BAR_WIDTH = 360  # px of a bar at 100% of the cards


@dataclass(frozen=True)
class Bar:
    """One stacked bar of the chart: accepted, overridden and ignored widths in px."""

    label: str
    y: int
    accepted: float
    overridden: float
    ignored: float
    words: str


def render_feedback(report: FeedbackReport, output_format: str) -> str:
    """The report in one of ``FEEDBACK_FORMATS``."""
    if output_format == "json":
        return report.to_json() + "\n"
    if output_format == "html":
        return feedback_html(report)
    if output_format == "text":
        return feedback_text(report)
    raise ValueError(f"unknown format {output_format!r} (known: {', '.join(FEEDBACK_FORMATS)})")


def _reasons(tally: Tally) -> str:
    if not tally.override_reasons:
        return ""
    counts = sorted(tally.override_reasons.items(), key=lambda item: (-item[1], item[0]))
    return " (reasons: " + ", ".join(f"{reason} {count}" for reason, count in counts) + ")"


def _line(label: str, tally: Tally) -> str:
    return (f"  {label}: {tally.cards} cards, {tally.accepted} accepted, {tally.overridden} "
            f"overridden{_reasons(tally)}, {tally.ignored} ignored; override rate "
            f"{tally.override_rate:.0%}")


def feedback_text(report: FeedbackReport) -> str:
    """The report as plain text."""
    lines = [f"Feedback in {report.log}: {report.calls} calls",
             _line("all cards", report.total), "", "By card (triage level):"]
    lines += [_line(tally.kind, tally) for tally in report.by_kind] or ["  (no cards)"]
    lines += ["", f"Review first (overridden at least {report.threshold:.0%} of the time on "
              f"{report.min_cards} or more cards):"]
    lines += [_line(f"{t.rule} v{t.version} ({t.title})", t) for t in report.review_first] \
        or ["  (none)"]
    lines += ["", "By rule version:"]
    lines += [_line(f"{t.rule} v{t.version}", t) for t in report.by_rule] or ["  (no rules)"]
    if report.unmatched_feedback:
        lines += ["", f"{report.unmatched_feedback} feedback entries name a card no call in this log returned."]
    if report.skipped_lines:
        lines += ["", "Skipped:", *(f"  {line}" for line in report.skipped_lines)]
    return "\n".join(lines) + "\n"


def _bars(report: FeedbackReport) -> list[Bar]:
    rows: list[tuple[str, Tally]] = [(f"{t.rule} v{t.version}", t) for t in report.review_first]
    rows = rows or [(f"{t.kind} cards", t) for t in report.by_kind]
    bars = []
    for position, (label, tally) in enumerate(rows):
        scale = _BAR_WIDTH / tally.cards if tally.cards else 0
        bars.append(Bar(label, 24 * position, tally.accepted * scale, tally.overridden * scale,
                        tally.ignored * scale,
                        f"{tally.accepted} accepted, {tally.overridden} overridden, "
                        f"{tally.ignored} ignored of {tally.cards}"))
    return bars


def feedback_html(report: FeedbackReport) -> str:
    """The report as a self-contained HTML page with an inline SVG chart."""
    bars = _bars(report)
    return render_page("feedback.html.j2", title=f"Feedback on cards: {report.log}", report=report,
                       bars=bars, bar_width=_BAR_WIDTH, chart_height=24 * len(bars) + 24,
                       charted="rules to review first" if report.review_first else "cards by triage level")
