"""The recovery-timeline chart of the care guide: inline SVG, black on white with grey bars so it prints on any
printer, a logarithmic time axis (the first hours and the later months both stay readable), and a ``<title>`` and
``<desc>`` that carry the same information as text (PDF alt text, screen readers)."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from html import escape

from markupsafe import Markup


@dataclass(frozen=True)
class Bar:
    label: str
    start_hours: float
    end_hours: float
    span: str  # "0 hours – 4 hours" in words, for the text alternative


@dataclass(frozen=True)
class Tick:
    hours: float
    label: str


WIDTH = 640.0
LEFT = 8.0
RIGHT = 16.0
ROW = 34.0
TOP = 8.0
AXIS = 34.0


FONT_SIZE = 11.0


def _text_width(text: str) -> float:
    """A generous estimate of a label's width at FONT_SIZE: full width for CJK, about half for Latin."""
    return sum(FONT_SIZE * (1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.56) for ch in text)


def _tick_labels(ticks: list[Tick], last: float) -> list[tuple[Tick, float, str]]:
    """The ticks whose labels fit: (tick, x, text-anchor), never two labels on top of each other ("3 months" and
    "6 months" are close on a log axis). The last tick (the end of recovery) always keeps its label; a label that
    would touch the one before it is left out (its grid line stays)."""
    placed: list[tuple[Tick, float, str, float, float]] = []
    shown = [t for t in ticks if t.hours <= last]
    for i, tick in enumerate(shown):
        x = _x(tick.hours, last)
        anchor = "start" if x < LEFT + 30 else "end" if x > WIDTH - RIGHT - 30 else "middle"
        width = _text_width(tick.label)
        left = x if anchor == "start" else x - width if anchor == "end" else x - width / 2
        right = left + width
        while placed and placed[-1][4] + 6 > left:
            if i < len(shown) - 1:
                break  # this label would overlap the one before: leave it out
            placed.pop()  # the end of the axis wins over the label before it
        else:
            placed.append((tick, x, anchor, left, right))
    return [(tick, x, anchor) for tick, x, anchor, _, _ in placed]


def _x(hours: float, last: float) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + span * math.log1p(max(hours, 0.0)) / math.log1p(last)


def recovery_chart(bars: list[Bar], ticks: list[Tick], *, title: str, font_family: str, lang: str) -> Markup:
    """An SVG element, ready to inline in the HTML (every text is escaped here)."""
    if not bars:
        return Markup("")
    last = max(max(b.end_hours for b in bars), 1.0)
    height = TOP + ROW * len(bars) + AXIS
    desc = "; ".join(f"{b.label}: {b.span}" for b in bars)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" lang="{escape(lang)}" '
        f'viewBox="0 0 {WIDTH:.0f} {height:.0f}" width="{WIDTH:.0f}" height="{height:.0f}" '
        f"font-family='{escape(font_family)}' font-size=\"11\">",
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(desc)}</desc>",
    ]
    axis_y = TOP + ROW * len(bars) + 4
    for tick in ticks:
        if tick.hours <= last:
            x = _x(tick.hours, last)
            parts.append(
                f'<line x1="{x:.1f}" y1="{TOP:.1f}" x2="{x:.1f}" y2="{axis_y:.1f}" stroke="#b8b8b8" '
                'stroke-width="0.6" stroke-dasharray="2 2"/>'
            )
    for tick, x, anchor in _tick_labels(ticks, last):
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 16:.1f}" text-anchor="{anchor}" fill="#333">{escape(tick.label)}</text>'
        )
    parts.append(
        f'<line x1="{LEFT:.1f}" y1="{axis_y:.1f}" x2="{WIDTH - RIGHT:.1f}" y2="{axis_y:.1f}" '
        'stroke="#333" stroke-width="0.8"/>'
    )
    for i, bar in enumerate(bars):
        y = TOP + ROW * i
        x1 = _x(bar.start_hours, last)
        x2 = max(_x(bar.end_hours, last), x1 + 4)
        shade = "#5b7083" if i % 2 == 0 else "#8aa0b3"
        parts.append(f'<rect x="{x1:.1f}" y="{y + 16:.1f}" width="{x2 - x1:.1f}" height="12" rx="2" fill="{shade}"/>')
        # The label sits above its bar, kept inside the chart even for bars near the right edge.
        if x1 > WIDTH * 0.6:
            parts.append(
                f'<text x="{x2:.1f}" y="{y + 12:.1f}" text-anchor="end" fill="#111">{escape(bar.label)}</text>'
            )
        else:
            parts.append(f'<text x="{x1:.1f}" y="{y + 12:.1f}" fill="#111">{escape(bar.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
