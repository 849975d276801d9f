"""Server-side SVG charts for the annual report page: a line chart and a horizontal bar chart.

No JavaScript and no external resources, so the page stays self-contained (department intranets have no
internet access). This module only computes the geometry — positions, sizes and the texts to draw — as plain
data; the markup is the template ``resolvers/analytics/templates/report/charts.html.j2`` (Jinja2 with autoescape), so every
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


def _ticks(top: float) -> list[float]:
    """The axis ticks from 0 to ``top`` (a ``_nice_max``) in round steps: five steps, or four when a fifth of
    ``top`` is not round (2 -> 0.5 steps, not 0.4)."""
    mantissa = round(top / 10 ** math.floor(math.log10(top)), 6)
    n = 4 if mantissa == 2 else 5
    return [top * k / n for k in range(n + 1)]


def _fmt(value: float) -> str:
    """A tick value: thousands separators, at most two decimals, no trailing zeros."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


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
class AxisTitle:
    """What an axis shows (e.g. the value axis: 求人倍率); ``rotate`` draws it upwards along a vertical axis."""

    x: str
    y: str
    text: str
    anchor: str = "middle"
    rotate: bool = False


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
    title: str  # shown above the chart (the page's <figcaption>) and as the SVG's <title>
    width: int  # of the viewBox: the page scales the chart to its width
    height: int
    font: str = FONT
    axis_titles: list[AxisTitle] = field(default_factory=list)  # the value axis and the category axis
    grid: list[tuple[Line, Text]] = field(default_factory=list)  # value-axis grid lines and their tick labels
    x_labels: list[Text] = field(default_factory=list)  # line chart
    references: list[tuple[Line, Text]] = field(default_factory=list)  # dashed reference lines and labels
    series: list[Series] = field(default_factory=list)  # line chart
    bars: list[Bar] = field(default_factory=list)  # bar chart
    axis: Line | None = None  # bar chart: the zero line


# Charts are drawn for a viewBox of WIDTH units, about the page's width in CSS pixels (1016 on screen, 690 on
# A4 in print): the page scales them to its width, so 13-unit texts stay between 10 and 15 pixels.
WIDTH = 880


def line_chart(chart_id: str, title: str, x_labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[float | None]]], *, value_title: str, category_title: str,
               references: Sequence[tuple[float, str]] = (), width: int = WIDTH, height: int = 320) -> Chart:
    """Lines of ``series`` (name, one value per x label) with dashed horizontal ``references`` (value, label);
    ``value_title`` is written along the vertical axis, ``category_title`` under the x labels."""
    left, right, top, bottom = 72, 24, 16, 78
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None] + [r for r, _ in references]
    y_max = _nice_max(max(values, default=1.0) * 1.1)
    n = max(len(x_labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / y_max

    grid = [(Line(str(left), _c(y(v)), str(width - right), _c(y(v))), Text(str(left - 6), _c(y(v) + 4), _fmt(v)))
            for v in _ticks(y_max)]
    labels = [Text(_c(x(i)), str(top + plot_h + 18), label) for i, label in enumerate(x_labels)]
    axis_titles = [AxisTitle("18", _c(top + plot_h / 2), value_title, rotate=True),
                   AxisTitle(_c(left + plot_w / 2), str(top + plot_h + 38), category_title)]
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
    return Chart("line", chart_id, title, width, height, axis_titles=axis_titles, grid=grid, x_labels=labels,
                 references=refs, series=drawn)


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, float | None]], *, value_title: str,
              category_title: str, value_format: str = "{:.2f}", missing_label: str = "*",
              references: Sequence[tuple[float, str]] = (), width: int = WIDTH, label_width: int = 240) -> Chart:
    """Horizontal bars (label, value) from a zero line, negative values drawn as empty bars of width 0; the value
    axis (ticks and ``value_title``) is under the bars, ``category_title`` above the bar labels."""
    row_h, top, bottom, right = 24, 28, 50, 72
    plot_h = row_h * max(len(bars), 1)
    height = top + plot_h + bottom
    plot_w = width - label_width - right
    values = [v for _, v in bars if v is not None] + [r for r, _ in references]
    v_max = _nice_max(max([abs(v) for v in values], default=1.0))

    def w(v: float) -> float:
        return plot_w * max(v, 0.0) / v_max

    drawn = []
    for i, (label, value) in enumerate(bars):
        y = top + i * row_h
        short = label if len(label) <= 18 else label[:17] + "…"
        text = Text(str(label_width - 8), str(y + 16), short, title=label)
        if value is None:
            drawn.append(Bar(text, Text(str(label_width + 4), str(y + 16), missing_label)))
            continue
        shown = value_format.format(value)
        drawn.append(Bar(text, None, label_width, y + 4, _c(w(value)), row_h - 8, f"{label}: {shown}",
                         Text(_c(label_width + w(value) + 4), str(y + 16), shown)))
    bottom_y = top + plot_h
    grid = [(Line(_c(label_width + w(v)), str(top - 4), _c(label_width + w(v)), str(bottom_y)),
             Text(_c(label_width + w(v)), str(bottom_y + 16), _fmt(v))) for v in _ticks(v_max)]
    axis_titles = [AxisTitle(_c(label_width + plot_w / 2), str(bottom_y + 38), value_title),
                   AxisTitle(str(label_width - 8), str(top - 10), category_title, anchor="end")]
    refs = [(Line(_c(label_width + w(value)), str(top - 4), _c(label_width + w(value)), str(bottom_y + 4)),
             Text(_c(label_width + w(value)), str(top - 10), label)) for value, label in references]
    axis = Line(str(label_width), str(top - 4), str(label_width), str(bottom_y + 4))
    return Chart("bar", chart_id, title, width, height, axis_titles=axis_titles, grid=grid, references=refs,
                 bars=drawn, axis=axis)
