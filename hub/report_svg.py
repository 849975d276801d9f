"""Server-side SVG charts for the annual report page: a line chart and a horizontal bar chart.

Plain strings, no JavaScript and no external resources, so the page stays self-contained (department
intranets have no internet access). Every text is escaped; a missing (null or suppressed) value is left out
of a line and drawn as an empty bar labelled with ``missing_label``.
"""

from __future__ import annotations

import math
from html import escape
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


def line_chart(chart_id: str, title: str, x_labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[float | None]]], *, references: Sequence[tuple[float, str]] = (),
               width: int = 640, height: int = 280) -> str:
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

    parts = [f'<svg class="chart line-chart" id="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-labelledby="{escape(chart_id)}-title" font-family="{FONT}" font-size="12">',
             f'<title id="{escape(chart_id)}-title">{escape(title)}</title>']
    for k in range(5):
        v = y_max * k / 4
        parts.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#555">{_fmt(v)}</text>')
    for i, label in enumerate(x_labels):
        parts.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 18}" text-anchor="middle" fill="#333">'
                     f'{escape(label)}</text>')
    for value, label in references:
        parts.append(f'<line class="reference" x1="{left}" y1="{y(value):.1f}" x2="{width - right}" '
                     f'y2="{y(value):.1f}" stroke="#c0392b" stroke-dasharray="5 4"/>')
        parts.append(f'<text x="{width - right}" y="{y(value) - 4:.1f}" text-anchor="end" fill="#c0392b">'
                     f'{escape(label)}</text>')
    for s, (name, vs) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        segment: list[str] = []
        segments = []
        for i, v in enumerate(vs):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(v):.1f}")
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{color}">'
                         f'<title>{escape(name)} {escape(x_labels[i])}: {_fmt(v)}</title></circle>')
        if segment:
            segments.append(segment)
        for seg in segments:
            parts.append(f'<polyline class="series" fill="none" stroke="{color}" stroke-width="2.5" '
                         f'points="{" ".join(seg)}"/>')
        lx = left + s * 160
        parts.append(f'<rect x="{lx}" y="{height - 18}" width="14" height="4" fill="{color}"/>'
                     f'<text x="{lx + 20}" y="{height - 12}" fill="#333">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, float | None]], *, value_format: str = "{:.2f}",
              missing_label: str = "*", references: Sequence[tuple[float, str]] = (), width: int = 680,
              label_width: int = 220) -> str:
    """Horizontal bars (label, value); negative values are drawn from zero to the left edge's zero line."""
    row_h, top, bottom, right = 22, 12, 28, 64
    height = top + bottom + row_h * max(len(bars), 1)
    plot_w = width - label_width - right
    values = [v for _, v in bars if v is not None] + [r for r, _ in references]
    v_max = _nice_max(max([abs(v) for v in values], default=1.0))

    def w(v: float) -> float:
        return plot_w * max(v, 0.0) / v_max

    parts = [f'<svg class="chart bar-chart" id="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-labelledby="{escape(chart_id)}-title" font-family="{FONT}" font-size="12">',
             f'<title id="{escape(chart_id)}-title">{escape(title)}</title>']
    for i, (label, value) in enumerate(bars):
        y = top + i * row_h
        short = label if len(label) <= 18 else label[:17] + "…"
        parts.append(f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" fill="#333">'
                     f'<title>{escape(label)}</title>{escape(short)}</text>')
        if value is None:
            parts.append(f'<text x="{label_width + 4}" y="{y + 15}" fill="#888">{escape(missing_label)}</text>')
            continue
        parts.append(f'<rect class="bar" x="{label_width}" y="{y + 4}" width="{w(value):.1f}" height="{row_h - 8}" '
                     f'fill="{PALETTE[0]}"><title>{escape(label)}: {escape(value_format.format(value))}</title></rect>')
        parts.append(f'<text x="{label_width + w(value) + 4:.1f}" y="{y + 15}" fill="#333">'
                     f'{escape(value_format.format(value))}</text>')
    for value, label in references:
        rx = label_width + w(value)
        parts.append(f'<line class="reference" x1="{rx:.1f}" y1="{top - 4}" x2="{rx:.1f}" y2="{height - bottom + 4}" '
                     f'stroke="#c0392b" stroke-dasharray="5 4"/>')
        parts.append(f'<text x="{rx:.1f}" y="{height - 8}" text-anchor="middle" fill="#c0392b">{escape(label)}</text>')
    parts.append(f'<line x1="{label_width}" y1="{top - 4}" x2="{label_width}" y2="{height - bottom + 4}" '
                 f'stroke="#999"/>')
    parts.append("</svg>")
    return "".join(parts)
