"""Charts of the impact report: the geometry of its two inline SVG charts.

The triage transition matrix is a heat map (darker for more cases; cells below the
diagonal, the down-triage, in red, above it orange); the cases changed per cause are
stacked bars (down, up, other change), scaled to the cause with the most cases. The
template ``impact.html.j2`` draws them from these cells and bars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .impact import Cause, ImpactReport


@dataclass(frozen=True)
class Cell:
    """One cell of the transition heat map."""

    x: int
    y: int
    size: int
    fill: str
    count: int
    old: str
    new: str
    text_fill: str


@dataclass(frozen=True)
class Bar:
    """One stacked bar of the changes-per-cause chart."""

    y: int
    label: str
    segments: tuple[tuple[int, int, str, str, int], ...]  # x, width, fill, what, count
    total: int


MATRIX_CELL = 64
MATRIX_LEFT = 96
MATRIX_TOP = 48
BAR_HEIGHT = 22
BAR_LEFT = 330
BAR_WIDTH = 420
_DOWN, _UP, _SAME, _OTHER = "#c0392b", "#d68910", "#7f8c8d", "#95a5a6"
COLORS: dict[str, str] = {"down": _DOWN, "up": _UP, "other": _OTHER}
"""The colour of each kind of change, shared by both charts and their legends."""


def _shade(color: str, strength: float) -> str:
    """``color`` mixed with white: strength 0 is white, 1 the color itself."""
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    mix = [round(255 - (255 - part) * strength) for part in (red, green, blue)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def matrix_cells(report: ImpactReport) -> list[Cell]:
    """The heat map of the transition matrix: darker for more cases, red below the diagonal."""
    triage = report.triage
    peak = max((n for row in triage.matrix for n in row), default=0)
    cells = []
    for i, old in enumerate(triage.levels):
        for j, new in enumerate(triage.levels):
            count = triage.matrix[i][j]
            base = _DOWN if j < i else _UP if j > i else _SAME
            strength = 0.0 if not count else 0.15 + 0.85 * math.log1p(count) / math.log1p(peak)
            cells.append(Cell(MATRIX_LEFT + j * MATRIX_CELL, MATRIX_TOP + i * MATRIX_CELL, MATRIX_CELL - 2,
                              _shade(base, strength), count, old, new,
                              "#ffffff" if strength > 0.6 else "#1b1b1b"))
    return cells


def cause_bars(causes: list[Cause], shown: int) -> list[Bar]:
    """Stacked bars per cause (down, up, other), scaled to the cause with the most cases."""
    top = causes[:shown]
    peak = max((c.cases for c in top), default=0) or 1
    bars = []
    for row, cause in enumerate(top):
        x = BAR_LEFT
        segments = []
        for what, count, fill in (("down", cause.down, _DOWN), ("up", cause.up, _UP),
                                  ("other change", cause.other, _OTHER)):
            width = round(BAR_WIDTH * count / peak)
            if count:
                segments.append((x, max(width, 1), fill, what, count))
                x += max(width, 1)
        label = cause.cause if len(cause.cause) <= 44 else cause.cause[:41] + "..."
        bars.append(Bar(8 + row * (BAR_HEIGHT + 6), label, tuple(segments), cause.cases))
    return bars
