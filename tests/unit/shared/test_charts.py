"""shared.charts: the pure drawing of a chart, without HTTP."""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import datetime, timedelta, timezone

import pytest

from shared.charts import BOTTOM, TOP, Band, Bar, BarChart, Chart, Level, Point, nice_ticks, render_png, render_svg

SVG = "{http://www.w3.org/2000/svg}"
MONDAY = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)


def chart(**fields) -> Chart:
    return Chart(**{"title": "PHQ-9", "summary": "Scores.", "value_label": "total", "value_range": (0, 27),
                    "now": MONDAY, **fields})


def test_names_and_labels_are_escaped_once_and_read_back_as_given():
    hostile = 'Walk <script>alert("x")</script> & rest'
    root = ElementTree.fromstring(render_svg(chart(title=hostile, levels=[Level(hostile, 10, "milestone")],
                                                   points=[Point(MONDAY, 12, "client")])))
    assert root.find(f"{SVG}title").text == hostile
    assert [node.text for node in root.iter(f"{SVG}text") if node.get("class") == "level-label"] == [f"{hostile} 10"]
    assert not any(node.tag == f"{SVG}script" for node in root.iter())


def test_whole_number_bands_are_drawn_without_gaps_between_them():
    bands = [Band("mild", 5, 9), Band("minimal", 0, 4), Band("moderate", 10, 27)]
    root = ElementTree.fromstring(render_svg(chart(bands=bands)))
    drawn = [node for node in root.iter(f"{SVG}rect") if node.get("class") == "band"]
    assert [node.get("data-label") for node in drawn] == ["minimal", "mild", "moderate"]
    assert sum(float(node.get("height")) for node in drawn) == pytest.approx(BOTTOM - TOP, abs=0.05)
    for lower, upper in zip(drawn, drawn[1:]):
        assert float(upper.get("y")) + float(upper.get("height")) == pytest.approx(float(lower.get("y")), abs=0.02)


def test_the_text_alternative_states_every_point_and_an_empty_chart_says_so():
    points = [Point(MONDAY, 18, "baseline", "moderately_severe"), Point(MONDAY + timedelta(days=7), 11, "improved", "moderate")]
    desc = ElementTree.fromstring(render_svg(chart(points=points))).find(f"{SVG}desc").text
    assert "2026-01-05: 18, moderately_severe (baseline)." in desc and "2026-01-12: 11, moderate (improved)." in desc
    empty = ElementTree.fromstring(render_svg(chart(empty="Nothing yet.")))
    assert empty.find(f"{SVG}desc").text.endswith("Nothing yet.")


def test_ticks_are_round_and_within_the_range():
    for low, high in ((0, 27), (0, 100), (0, 1), (3.5, 17.2), (-4, 4)):
        ticks = nice_ticks(low, high)
        assert 2 <= len(ticks) <= 6 and low <= ticks[0] and ticks[-1] <= high
        steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
        assert len(steps) == 1 and f"{steps.pop():e}"[0] in "125"


def test_png_is_a_png():
    assert render_png(render_svg(chart(points=[Point(MONDAY, 9, "none")]))).startswith(b"\x89PNG\r\n\x1a\n")


def bar_chart(bars, **fields) -> BarChart:
    return BarChart(**{"title": "PHQ-9 outcomes", "summary": "Outcomes.", "value_label": "clients", "bars": bars,
                       "empty": "Nobody yet.", **fields})


def test_a_bar_chart_draws_each_bar_to_its_value_and_says_each_in_words():
    bars = [Bar("reliable improvement", 4, "improved", "40% of 10"), Bar("deterioration", 1, "deteriorated"),
            Bar("not enough data", 0, "unrated")]
    root = ElementTree.fromstring(render_svg(bar_chart(bars, title='Walk <script>x</script> & rest')))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "chart-title chart-desc"
    assert root.find(f"{SVG}title").text == 'Walk <script>x</script> & rest'
    assert not any(node.tag == f"{SVG}script" for node in root.iter())
    drawn = [node for node in root.iter(f"{SVG}rect") if "bar" in node.get("class", "").split()]
    assert [(node.get("data-label"), node.get("data-value")) for node in drawn] == [
        ("reliable improvement", "4"), ("deterioration", "1"), ("not enough data", "0")]
    heights = [float(node.get("height")) for node in drawn]
    assert heights[0] == pytest.approx(BOTTOM - TOP) and heights[1] == pytest.approx(heights[0] / 4) and heights[2] == 0
    desc = root.find(f"{SVG}desc").text
    assert desc == "Outcomes. reliable improvement: 4, 40% of 10. deterioration: 1. not enough data: 0."
    assert render_png(render_svg(bar_chart(bars))).startswith(b"\x89PNG\r\n\x1a\n")


def test_a_bar_chart_of_nothing_says_so():
    root = ElementTree.fromstring(render_svg(bar_chart([Bar("deterioration", 0, "deteriorated")])))
    assert "Nobody yet." in root.find(f"{SVG}desc").text
    assert [node.text for node in root.iter(f"{SVG}text") if node.get("class") == "empty"] == ["Nobody yet."]
