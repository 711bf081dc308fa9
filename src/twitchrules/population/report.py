"""Report: an ``ImpactReport`` as a terminal table, JSON, or one self-contained HTML page.

The HTML page is rendered with the shared Jinja2 environment (``twitchrules.templates``,
autoescaped) and carries its two charts as inline SVG drawn server-side from the geometry
``charts`` computes. Nothing loads from anywhere: no script, no font, no link.
"""

from __future__ import annotations

from collections.abc import Callable

from .charts import (
    BAR_HEIGHT,
    BAR_LEFT,
    BAR_WIDTH,
    COLORS,
    MATRIX_CELL,
    MATRIX_LEFT,
    MATRIX_TOP,
    cause_bars,
    matrix_cells,
)
from .impact import ImpactReport, Move

IMPACT_FORMATS: tuple[str, ...] = ("text", "json", "html")
"""The formats ``render_impact`` writes."""

SHOWN = 25
"""Rows shown per table in the text and HTML reports (the JSON has every one)."""


def _short(sha256: str) -> str:
    return sha256[:12]


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def _table(headers: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    def line(cells: list[str]) -> str:
        return indent + "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=False)).rstrip()
    return [line(headers), line(["-" * width for width in widths]), *(line(row) for row in rows)]


def _examples(examples: list) -> str:  # type: ignore[type-arg]
    return ", ".join(str(example.line) for example in examples)


def _moves(moves: list[Move], shown: int) -> list[str]:
    rows = [[str(m.line), "-" if m.id is None else str(m.id), m.old, m.new, "; ".join(m.causes)]
            for m in moves[:shown]]
    lines = _table(["line", "id", "old", "new", "causes"], rows)
    if len(moves) > shown:
        lines.append(f"  ... and {len(moves) - shown:,} more (all are in --format json)")
    return lines


def render_text(report: ImpactReport, shown: int = SHOWN) -> str:
    """The report as plain text for a terminal: down-triage first, then the tables."""
    cases, triage = report.cases, report.triage
    lines = [
        f"Impact of {report.old.name} {report.old.version} ({_short(report.old.sha256)}) -> "
        f"{report.new.name} {report.new.version} ({_short(report.new.sha256)}) on {report.input}",
        f"  {cases.compared:,} cases compared, {cases.refused:,} refused; {cases.changed:,} changed "
        f"({_percent(cases.changed, cases.compared)}): {triage.up:,} up, {triage.down:,} DOWN; "
        f"engine {report.engine}, {report.seconds:.1f} s on {report.runner}",
        "",
        f"DOWN-TRIAGE: {triage.down:,} case(s) get a lower triage on the new ruleset",
    ]
    lines += _moves(report.down_triage, shown) if report.down_triage else ["  (none)"]
    lines += ["", "Triage transitions (rows: old level, columns: new level)"]
    lines += _table(["old \\ new", *triage.levels],
                    [[level, *(f"{n:,}" for n in row)] for level, row in zip(triage.levels, triage.matrix,
                                                                            strict=True)])
    lines += ["", f"Causes ({len(report.causes)}): the rule and definition changes behind each change"]
    if report.causes:
        lines += _table(["cause", "cases", "down", "up", "other", "what changed", "example lines"],
                        [[c.cause, f"{c.cases:,}", f"{c.down:,}", f"{c.up:,}", f"{c.other:,}",
                          "; ".join(c.changes[:2]) + (" ..." if len(c.changes) > 2 else ""),
                          _examples(c.examples)] for c in report.causes[:shown]])
    else:
        lines.append("  (none)")
    lines += ["", f"Up-triage: {triage.up:,} case(s)"]
    lines += _moves(report.up_triage, min(shown, 10)) if report.up_triage else ["  (none)"]
    lines += ["", "Differential: conditions that entered, left or moved"]
    lines += _table(["condition", "entered", "left", "rank changed", "score changed", "example lines"],
                    [[d.condition, f"{d.entered:,}", f"{d.left:,}", f"{d.rank_changed:,}",
                      f"{d.score_changed:,}", _examples(d.examples)] for d in report.differential[:shown]]
                    ) if report.differential else ["  (none)"]
    lines += ["", "Checklist items whose status changed"]
    lines += _table(["item", "old", "new", "cases", "example lines"],
                    [[c.item, c.old, c.new, f"{c.cases:,}", _examples(c.examples)]
                     for c in report.checklist[:shown]]) if report.checklist else ["  (none)"]
    for title, rows in (("Recommendations", report.recommendations), ("Notices", report.notices),
                        ("Missing information", report.missing_information)):
        lines += ["", f"{title} added or removed"]
        lines += _table(["id", "added", "removed", "reworded", "example lines"],
                        [[r.id, f"{r.added:,}", f"{r.removed:,}", f"{r.reworded:,}", _examples(r.examples)]
                         for r in rows[:shown]]) if rows else ["  (none)"]
    lines += ["", "Rules that fired on one side only (in changed cases)"]
    lines += _table(["rule", "in the diff", "old only", "new only"],
                    [[r.rule, r.diff, f"{r.old_only:,}", f"{r.new_only:,}"]
                     for r in report.rules_fired_one_side[:shown]]) if report.rules_fired_one_side else ["  (none)"]
    if report.refused:
        lines += ["", f"REFUSED: {cases.refused:,} line(s) are not valid cases (not compared)"]
        for entry in report.refused[:shown]:
            errors = "; ".join(f"{e['field']}: {e['message']}" for e in entry.errors)
            lines.append(f"  line {entry.line}: {errors}")
    return "\n".join(lines) + "\n"


def render_html(report: ImpactReport, shown: int = SHOWN) -> str:
    """The report as one self-contained HTML page with its two charts as inline SVG."""
    from ..templates import render_page

    return render_page(
        "impact.html.j2",
        title=f"Impact: {report.old.name} {report.old.version} -> {report.new.version}",
        report=report, shown=shown, cells=matrix_cells(report), bars=cause_bars(report.causes, shown),
        cell=MATRIX_CELL, left=MATRIX_LEFT, top=MATRIX_TOP, bar_height=BAR_HEIGHT, bar_left=BAR_LEFT,
        bar_width=BAR_WIDTH, colors=COLORS, short=_short,
        percent=_percent)


def render_impact(report: ImpactReport, output_format: str = "text") -> str:
    """The report in one of ``IMPACT_FORMATS``."""
    renderers: dict[str, Callable[[ImpactReport], str]] = {
        "text": render_text, "json": lambda impact: impact.to_json() + "\n", "html": render_html}
    if output_format not in renderers:
        raise ValueError(f"unknown impact format {output_format!r} (known: {', '.join(IMPACT_FORMATS)})")
    return renderers[output_format](report)
