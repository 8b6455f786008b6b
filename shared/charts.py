"""Charts of a measure over time, and of counts by category, as SVG (and PNG), for a therapist
or a clinic to see a trend or a distribution at a glance.

A service maps its data to a ``Chart`` (values on the vertical axis, times on the horizontal one)
and this module draws it: the axes and their scales, shaded bands, horizontal reference lines, a
shaded corridor, a guide line, vertical marks and one marker per point, each marked by its
category. Or to a ``BarChart``: one labelled bar per category, its value written above it. The
SVG comes from Jinja2 templates (``templates/chart.svg``, ``templates/bar_chart.svg``, both in
``templates/_frame.svg``) with autoescaping, so names and labels are escaped once, here. It is
accessible: ``role="img"``, ``aria-labelledby`` naming its ``<title>`` and ``<desc>``, and the
``<desc>`` states every point or bar in words (the text alternative). A chart without points (or
whose bars are all 0) says so in its picture and its description.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence

from jinja2 import Environment, FileSystemLoader, StrictUndefined

WIDTH, HEIGHT = 760, 420
# The plot area inside the picture: room for the value axis on the left, band labels on the
# right, the time axis and the legend below.
LEFT, RIGHT, TOP, BOTTOM = 56, 600, 44, 330
# Categories a point may have, with how it is drawn: shape, and colour for those who see it.
# The shapes differ too, so the categories do not rest on colour alone.
MARKERS = {
    "baseline": ("square", "#1f4e9c"),
    "improved": ("circle", "#1b7f3b"),
    "deteriorated": ("triangle", "#c0392b"),
    "none": ("diamond", "#59636e"),
    "unrated": ("diamond", "#9aa3ad"),
    "client": ("circle", "#1f4e9c"),
    "therapist": ("square", "#6a3d9a"),
    "score": ("diamond", "#1b7f3b"),
    "recovered": ("circle", "#0f5a2a"),
}
# Reference lines by kind; an unknown kind is drawn like a cut-off.
LEVEL_COLOURS = {"caseness": "#7a1f1f", "baseline": "#1f4e9c", "target": "#1b7f3b", "milestone": "#8a6d00"}
# Band fills, lightest first; bands cycle through them.
BAND_FILLS = ("#f4f7fb", "#e6eef7", "#d8e4f1", "#cbdbec", "#bdd1e6")
SVG_MEDIA_TYPE = "image/svg+xml"
PNG_MEDIA_TYPE = "image/png"

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Band:
    """A stretch of values with a name (a severity band, the reliable-change corridor)."""

    label: str
    low: float
    high: float


@dataclass(frozen=True)
class Level:
    """A horizontal reference line: a cut-off, a baseline, a target, a milestone."""

    label: str
    value: float
    kind: str


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float
    category: str  # a key of MARKERS
    note: str = ""  # said in the text alternative after the value, e.g. the severity band


@dataclass(frozen=True)
class Mark:
    """A moment marked across the plot: a due date."""

    at: datetime
    label: str


@dataclass(frozen=True)
class Guide:
    """A straight line from one (time, value) to another: where a goal should be by when."""

    label: str
    start: tuple[datetime, float]
    end: tuple[datetime, float]


@dataclass(frozen=True)
class Chart:
    title: str
    summary: str  # the first sentence of the text alternative: what the chart is of
    value_label: str
    value_range: tuple[float, float]
    now: datetime  # the time axis ends here when nothing later is shown
    points: Sequence[Point] = ()
    bands: Sequence[Band] = ()
    corridor: Band | None = None
    levels: Sequence[Level] = ()
    marks: Sequence[Mark] = ()
    guide: Guide | None = None
    empty: str = "No data yet."


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    category: str  # a key of MARKERS: its colour
    note: str = ""  # written under the label and said in the text alternative, e.g. a percentage


@dataclass(frozen=True)
class BarChart:
    """Counts by category: one bar each, in the order given."""

    title: str
    summary: str  # the first sentence of the text alternative: what the chart is of
    value_label: str
    bars: Sequence[Bar]
    empty: str = "No data yet."  # said when every bar is 0


class Scale:
    """A linear map from a domain [low, high] to pixels [start, end]."""

    def __init__(self, low: float, high: float, start: float, end: float):
        self.low, self.high, self.start, self.end = low, high, start, end

    def __call__(self, value: float) -> float:
        share = 0.5 if self.high == self.low else (value - self.low) / (self.high - self.low)
        return round(self.start + share * (self.end - self.start), 2)


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round values from ``low`` to ``high`` at a step of 1, 2 or 5 times a power of ten, at
    most ``most`` of them."""
    if high <= low:
        return [low]
    rough = (high - low) / (most - 1)
    power = 10 ** math.floor(math.log10(rough))
    step = next(factor * power for factor in (1, 2, 5, 10) if factor * power >= rough)
    first = math.ceil(low / step) * step
    return [round(first + index * step, 10) for index in range(int((high - first) / step + 1e-9) + 1)]


def _time_span(chart: Chart) -> tuple[datetime, datetime]:
    moments = [point.at for point in chart.points] + [mark.at for mark in chart.marks]
    if chart.guide:
        moments += [chart.guide.start[0], chart.guide.end[0]]
    if not moments:
        return chart.now - timedelta(days=28), chart.now
    first, last = min(moments), max(moments)
    # A margin on both sides keeps the first and last markers off the axes.
    margin = max(last - first, timedelta(days=1)) * 0.04
    return first - margin, last + margin


def _number(value: float) -> str:
    return f"{value:g}"


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _marker(kind: str, x: float, y: float) -> str:
    """The SVG path of a marker centred on (x, y)."""
    r = 5
    if kind == "square":
        return f"M{x - r},{y - r}h{2 * r}v{2 * r}h{-2 * r}Z"
    if kind == "triangle":
        return f"M{x},{y - r - 1}L{x + r + 1},{y + r}L{x - r - 1},{y + r}Z"
    if kind == "diamond":
        return f"M{x},{y - r - 1}L{x + r + 1},{y}L{x},{y + r + 1}L{x - r - 1},{y}Z"
    return f"M{x - r},{y}a{r},{r} 0 1,0 {2 * r},0a{r},{r} 0 1,0 {-2 * r},0Z"


def description(chart: Chart | BarChart) -> str:
    """The text alternative: what the chart is of, its reference lines, and every point (or bar) in words."""
    sentences = [chart.summary]
    if isinstance(chart, BarChart):
        if not any(bar.value for bar in chart.bars):
            sentences.append(chart.empty)
        return " ".join(sentences + [f"{bar.label}: {_number(bar.value)}{f', {bar.note}' if bar.note else ''}."
                                     for bar in chart.bars])
    if chart.bands:
        sentences.append("Bands: " + "; ".join(f"{b.label} {_number(b.low)}–{_number(b.high)}" for b in chart.bands) + ".")
    if chart.corridor:
        c = chart.corridor
        sentences.append(f"{c.label}: {_number(c.low)}–{_number(c.high)}.")
    sentences += [f"{level.label}: {_number(level.value)}." for level in chart.levels]
    if chart.guide:
        (start, low), (end, high) = chart.guide.start, chart.guide.end
        sentences.append(f"{chart.guide.label}: from {_number(low)} on {_day(start)} to {_number(high)} on {_day(end)}.")
    if chart.marks:
        sentences.append("Due: " + ", ".join(_day(mark.at) for mark in chart.marks) + ".")
    if not chart.points:
        sentences.append(chart.empty)
    for point in chart.points:
        note = f", {point.note}" if point.note else ""
        sentences.append(f"{_day(point.at)}: {_number(point.value)}{note} ({point.category}).")
    return " ".join(sentences)



def _contiguous(bands: Sequence[Band]) -> list[Band]:
    """The bands drawn without gaps: a band of whole-number totals ("mild" 5–9) covers the axis
    up to where the next one ("moderate" 10–14) begins."""
    ordered = sorted(bands, key=lambda band: band.low)
    return [
        Band(band.label, band.low, following.low if following.low > band.high else band.high)
        for band, following in zip(ordered, ordered[1:])
    ] + ordered[-1:]


def _frame(chart: Chart | BarChart) -> dict:
    """What every chart's template needs: its size, plot area, title and text alternative."""
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "right": RIGHT, "top": TOP, "bottom": BOTTOM,
            "title": chart.title, "desc": description(chart), "value_label": chart.value_label}


def _value_ticks(scale: Scale, low: float, high: float) -> list[dict]:
    return [{"label": _number(tick), "y": scale(tick)} for tick in nice_ticks(low, high)]


def render_bars(chart: BarChart) -> str:
    """A bar chart as a standalone, accessible SVG document: the value axis from 0, each bar with
    its value above it and its label (a word a line) and note below it."""
    high = max([bar.value for bar in chart.bars] + [1])
    y = Scale(0, high, BOTTOM, TOP)
    slot = (RIGHT - LEFT) / max(len(chart.bars), 1)
    width = round(slot * 0.6, 2)
    bars = [
        {"label": bar.label, "category": bar.category, "value": _number(bar.value), "note": bar.note,
         "colour": MARKERS[bar.category][1], "lines": bar.label.split(),
         "x": round(LEFT + slot * index + (slot - width) / 2, 2), "y": y(bar.value), "width": width,
         "height": round(BOTTOM - y(bar.value), 2), "middle": round(LEFT + slot * (index + 0.5), 2),
         "said": f"{bar.label}: {_number(bar.value)}{f', {bar.note}' if bar.note else ''}"}
        for index, bar in enumerate(chart.bars)
    ]
    context = {**_frame(chart), "value_ticks": _value_ticks(y, 0, high), "bars": bars,
               "empty": None if any(bar.value for bar in chart.bars) else chart.empty}
    return _templates.get_template("bar_chart.svg").render(context)


def render_svg(chart: Chart | BarChart) -> str:
    """The chart as a standalone, accessible SVG document."""
    if isinstance(chart, BarChart):
        return render_bars(chart)
    low, high = chart.value_range
    y = Scale(low, high, BOTTOM, TOP)
    first, last = _time_span(chart)
    seconds = Scale(0, (last - first).total_seconds(), LEFT, RIGHT)

    def x(moment: datetime) -> float:
        return seconds((moment - first).total_seconds())

    def clipped(band: Band) -> Band:
        return Band(band.label, max(low, band.low), min(high, band.high))

    bands = [
        {"label": band.label, "y": y(band.high), "height": round(y(band.low) - y(band.high), 2),
         "label_y": round((y(band.low) + y(band.high)) / 2 + 4, 2), "fill": BAND_FILLS[index % len(BAND_FILLS)]}
        for index, band in enumerate(map(clipped, _contiguous(chart.bands)))
    ]
    corridor = None
    if chart.corridor:
        c = clipped(chart.corridor)
        corridor = {"label": c.label, "y": y(c.high), "height": round(y(c.low) - y(c.high), 2)}
    time_ticks = [first + (last - first) * index / 4 for index in range(5)]
    legend = sorted({point.category for point in chart.points}, key=list(MARKERS).index)
    context = {
        **_frame(chart),
        "bands": bands,
        "corridor": corridor,
        "levels": [{"label": f"{level.label} {_number(level.value)}", "kind": level.kind, "y": y(level.value),
                    "colour": LEVEL_COLOURS.get(level.kind, LEVEL_COLOURS["caseness"])}
                   for level in chart.levels if low <= level.value <= high],
        "marks": [{"label": mark.label, "x": x(mark.at)} for mark in chart.marks],
        "guide": chart.guide and {
            "label": chart.guide.label,
            "x1": x(chart.guide.start[0]), "y1": y(chart.guide.start[1]),
            "x2": x(chart.guide.end[0]), "y2": y(chart.guide.end[1]),
        },
        "value_ticks": _value_ticks(y, low, high),
        "time_ticks": [{"label": _day(tick), "x": x(tick)} for tick in time_ticks],
        "line": " ".join(f"{x(point.at)},{y(point.value)}" for point in chart.points),
        "points": [
            {"category": point.category, "color": MARKERS[point.category][1],
             "path": _marker(MARKERS[point.category][0], x(point.at), y(point.value)),
             "label": f"{_day(point.at)}: {_number(point.value)} ({point.category})"}
            for point in chart.points
        ],
        "legend": [
            {"category": category, "color": MARKERS[category][1],
             "path": _marker(MARKERS[category][0], LEFT + 6 + 120 * index, HEIGHT - 22), "x": LEFT + 16 + 120 * index}
            for index, category in enumerate(legend)
        ],
        "empty": None if chart.points else chart.empty,
    }
    return _templates.get_template("chart.svg").render(context)


def render_png(svg: str) -> bytes:
    """The SVG rasterised (CairoSVG, on the system's libcairo), twice its size for sharp print."""
    # Imported here: loading cairo costs start-up time that only a PNG request needs to pay.
    import cairosvg

    return cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=2, background_color="white")
