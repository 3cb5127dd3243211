"""Small server-side SVG charts: vertical bars, horizontal bars and a line.

The dashboard draws its charts here, on the server, as inline SVG: no JavaScript, no
CDN, nothing to build, and the page prints. Every mark sits inside a link (`<a href>`)
to the list of tickets behind it, carries a `<title>` tooltip with its exact value, and
bars print their value, so a chart reads without hovering.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup, escape

COLOR = "#b71c1c"
GRID = "#e4e7eb"
TEXT = "#52606d"


@dataclass(frozen=True)
class Mark:
    """One bar or point: its label, its value and where it drills down to."""

    label: str
    value: int | float
    href: str | None = None


def nice_max(value: float, ticks: int = 4) -> tuple[float, float]:
    """An axis maximum and tick step at round numbers (1, 2, 2.5, 5 × 10ⁿ) at or above
    `value`, with at most `ticks` steps; whole-number steps for whole-number values."""
    if value <= 0:
        return 1.0, 1.0
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        step = m * power
        if step * ticks >= value:
            break
    if float(value).is_integer() and step < 1:  # counts: whole-number ticks
        step = 1.0
    return step * math.ceil(value / step), step


def _fmt(value: int | float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return f"{int(value):d}"


def _tick_label(value: float) -> str:
    return _fmt(value if not float(value).is_integer() else int(value))


def _link(mark: Mark, inner: str) -> str:
    tip = f"<title>{escape(mark.label)}：{_fmt(mark.value)}</title>"
    if mark.href:
        # a named link inside a named group (role=img would hide it from assistive technology)
        return f'<a href="{escape(mark.href)}" aria-label="{escape(mark.label)}：{_fmt(mark.value)}">{tip}{inner}</a>'
    return f"<g>{tip}{inner}</g>"


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="group" aria-label="{escape(title)}" '
            f'font-size="12" font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif">'
            f"<title>{escape(title)}</title>")
    return Markup(head + "".join(body) + "</svg>")


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _y_axis(body: list[str], left: int, right: int, top: int, plot_h: int, vmax: float, step: float) -> None:
    ticks = int(round(vmax / step))
    for i in range(ticks + 1):
        v = step * i
        y = top + plot_h - plot_h * v / vmax
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">{_tick_label(v)}</text>')


def bar_chart(marks: Sequence[Mark], *, title: str, width: int = 560, height: int = 240) -> Markup:
    """Vertical bars, one per mark, value printed above each bar."""
    left, right, top, bottom = 44, 10, 18, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax, step = nice_max(max((m.value for m in marks), default=0))
    body: list[str] = []
    _y_axis(body, left, width - right, top, plot_h, vmax, step)
    n = max(len(marks), 1)
    slot = plot_w / n
    bar_w = max(min(slot * 0.7, 60), 2)
    for i, m in enumerate(marks):
        h = plot_h * m.value / vmax
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h - h
        cx = x + bar_w / 2
        inner = (f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{COLOR}"/>'
                 f'<text class="value" x="{cx:.1f}" y="{y - 4:.1f}" text-anchor="middle">{_fmt(m.value)}</text>'
                 f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="{TEXT}">'
                 f"{escape(_short(m.label, max(int(slot / 12), 2)))}</text>")
        body.append(_link(m, inner))
    return _svg(width, height, title, body)


def hbar_chart(marks: Sequence[Mark], *, title: str, width: int = 560, bar_h: int = 22,
               label_w: int = 180) -> Markup:
    """Horizontal bars, for long labels (categories, units, addresses)."""
    top, right, gap = 6, 50, 6
    height = top * 2 + max(len(marks), 1) * (bar_h + gap)
    plot_w = width - label_w - right
    vmax = max((m.value for m in marks), default=0) or 1
    body: list[str] = []
    for i, m in enumerate(marks):
        y = top + i * (bar_h + gap)
        w = plot_w * m.value / vmax
        inner = (f'<text x="{label_w - 6}" y="{y + bar_h * 0.7:.1f}" text-anchor="end" fill="{TEXT}">'
                 f"{escape(_short(m.label, max(label_w // 12, 4)))}</text>"
                 f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{COLOR}"/>'
                 f'<text class="value" x="{label_w + w + 4:.1f}" y="{y + bar_h * 0.7:.1f}">{_fmt(m.value)}</text>')
        body.append(_link(m, inner))
    if not marks:
        body.append(f'<text x="{width / 2}" y="{top + bar_h * 0.7}" text-anchor="middle" fill="{TEXT}">无数据</text>')
    return _svg(width, height, title, body)


def line_chart(marks: Sequence[Mark], *, title: str, width: int = 900, height: int = 260,
               max_labels: int = 12) -> Markup:
    """A line through the marks in order (a time series), each point a link.

    X labels are thinned to at most `max_labels`; every point keeps its tooltip.
    """
    left, right, top, bottom = 44, 14, 14, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax, step = nice_max(max((m.value for m in marks), default=0))
    body: list[str] = []
    _y_axis(body, left, width - right, top, plot_h, vmax, step)
    n = len(marks)
    if n == 0:
        return _svg(width, height, title, body)
    dx = plot_w / max(n - 1, 1)
    pts = [(left + dx * i if n > 1 else left + plot_w / 2, top + plot_h - plot_h * m.value / vmax)
           for i, m in enumerate(marks)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    body.append(f'<polyline points="{path}" fill="none" stroke="{COLOR}" stroke-width="1.5"/>')
    every = max(math.ceil(n / max_labels), 1)
    r = 3 if n <= 62 else 2
    for i, (m, (x, y)) in enumerate(zip(marks, pts)):
        inner = (f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{COLOR}"/>'
                 f'<rect x="{x - max(dx / 2, 2):.1f}" y="{top}" width="{max(dx, 4):.1f}" height="{plot_h}" '
                 f'fill="transparent"/>')
        body.append(_link(m, inner))
        if i % every == 0 or i == n - 1 and n <= max_labels:
            body.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="{TEXT}">'
                        f"{escape(m.label)}</text>")
    return _svg(width, height, title, body)
