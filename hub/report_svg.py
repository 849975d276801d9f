"""Server-side SVG charts for the annual report page: a line chart and a horizontal bar chart.

No JavaScript and no external resources, so the page stays self-contained (department intranets have no
internet access). This module only computes the geometry — positions, sizes and the texts to draw — as plain
data; the markup is the template ``hub/templates/report/charts.html.j2`` (Jinja2 with autoescape), so every
text in a chart is escaped by the template engine like the rest of the page. A missing (null or suppressed)
value is left out of a line and drawn as an empty bar labelled with ``missing_label``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

FONT = "'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC',sans-serif"
PALETTE = ("#1f6fb2", "#e07b39", "#3a9d5d", "#9b59b6")


def _nice_max(value: float) -> float:
    """A round upper bound for an axis (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _c(value: float) -> str:
    """A coordinate as drawn (one decimal)."""
    return f"{value:.1f}"


@dataclass(frozen=True)
class Text:
    """A text at (x, y); ``title`` is its tooltip (the full label when the text is shortened)."""

    x: str
    y: str
    text: str
    title: str | None = None


@dataclass(frozen=True)
class Line:
    x1: str
    y1: str
    x2: str
    y2: str


@dataclass(frozen=True)
class Point:
    cx: str
    cy: str
    title: str


@dataclass(frozen=True)
class Series:
    color: str
    points: list[Point]
    polylines: list[str]  # each: the "x,y x,y ..." of a run of values without a gap
    legend_x: int
    name: str


@dataclass(frozen=True)
class Bar:
    label: Text  # left of the bar, shortened to 18 characters (the full label as its title)
    missing: Text | None  # drawn instead of the bar when the value is missing
    x: int = 0
    y: int = 0
    width: str = ""
    height: int = 0
    title: str = ""
    value: Text | None = None
    fill: str = PALETTE[0]


@dataclass(frozen=True)
class Chart:
    """What the chart template draws: ``kind`` is ``line`` or ``bar``."""

    kind: str
    id: str
    title: str
    width: int
    height: int
    font: str = FONT
    grid: list[tuple[Line, Text]] = field(default_factory=list)  # line chart: horizontal lines and y labels
    x_labels: list[Text] = field(default_factory=list)  # line chart
    references: list[tuple[Line, Text]] = field(default_factory=list)  # dashed reference lines and labels
    series: list[Series] = field(default_factory=list)  # line chart
    bars: list[Bar] = field(default_factory=list)  # bar chart
    axis: Line | None = None  # bar chart: the zero line


def line_chart(chart_id: str, title: str, x_labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[float | None]]], *, references: Sequence[tuple[float, str]] = (),
               width: int = 640, height: int = 280) -> Chart:
    """Lines of ``series`` (name, one value per x label) with dashed horizontal ``references`` (value, label)."""
    left, right, top, bottom = 48, 24, 20, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None] + [r for r, _ in references]
    y_max = _nice_max(max(values, default=1.0) * 1.1)
    n = max(len(x_labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / y_max

    grid = []
    for k in range(5):
        v = y_max * k / 4
        grid.append((Line(str(left), _c(y(v)), str(width - right), _c(y(v))),
                     Text(str(left - 6), _c(y(v) + 4), _fmt(v))))
    labels = [Text(_c(x(i)), str(top + plot_h + 18), label) for i, label in enumerate(x_labels)]
    refs = [(Line(str(left), _c(y(value)), str(width - right), _c(y(value))),
             Text(str(width - right), _c(y(value) - 4), label)) for value, label in references]
    drawn = []
    for s, (name, vs) in enumerate(series):
        points, segments, segment = [], [], []
        for i, v in enumerate(vs):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{_c(x(i))},{_c(y(v))}")
            points.append(Point(_c(x(i)), _c(y(v)), f"{name} {x_labels[i]}: {_fmt(v)}"))
        if segment:
            segments.append(segment)
        drawn.append(Series(PALETTE[s % len(PALETTE)], points, [" ".join(seg) for seg in segments], left + s * 160,
                            name))
    return Chart("line", chart_id, title, width, height, grid=grid, x_labels=labels, references=refs, series=drawn)


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, float | None]], *, value_format: str = "{:.2f}",
              missing_label: str = "*", references: Sequence[tuple[float, str]] = (), width: int = 680,
              label_width: int = 220) -> Chart:
    """Horizontal bars (label, value); negative values are drawn from zero to the left edge's zero line."""
    row_h, top, bottom, right = 22, 12, 28, 64
    height = top + bottom + row_h * max(len(bars), 1)
    plot_w = width - label_width - right
    values = [v for _, v in bars if v is not None] + [r for r, _ in references]
    v_max = _nice_max(max([abs(v) for v in values], default=1.0))

    def w(v: float) -> float:
        return plot_w * max(v, 0.0) / v_max

    drawn = []
    for i, (label, value) in enumerate(bars):
        y = top + i * row_h
        short = label if len(label) <= 18 else label[:17] + "…"
        text = Text(str(label_width - 8), str(y + 15), short, title=label)
        if value is None:
            drawn.append(Bar(text, Text(str(label_width + 4), str(y + 15), missing_label)))
            continue
        shown = value_format.format(value)
        drawn.append(Bar(text, None, label_width, y + 4, _c(w(value)), row_h - 8, f"{label}: {shown}",
                         Text(_c(label_width + w(value) + 4), str(y + 15), shown)))
    refs = [(Line(_c(label_width + w(value)), str(top - 4), _c(label_width + w(value)), str(height - bottom + 4)),
             Text(_c(label_width + w(value)), str(height - 8), label)) for value, label in references]
    axis = Line(str(label_width), str(top - 4), str(label_width), str(height - bottom + 4))
    return Chart("bar", chart_id, title, width, height, references=refs, bars=drawn, axis=axis)
