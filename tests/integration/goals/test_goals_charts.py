"""A goal's progress drawn as SVG and PNG on GET /v1/goals/{id}, by Accept.

Each SVG is parsed and checked against the goal's JSON and its progress entries (a score among
them, fed through the broker), and opened once in headless Chromium, which must draw it without
errors and not blank."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from shared.charts import HEIGHT, WIDTH
from tests.support.caller import CLIENT
from tests.integration.goals.test_goals_worker import publish
from tests.support.goals import counts, phq9_goal, scored
from tests.support.charts import SVG, assert_drawn_by_chromium, assert_not_blank, of_class, parsed_chart, text_of
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration

ACCEPT_SVG = {"Accept": "image/svg+xml"}


def test_a_goal_is_drawn_with_baseline_target_milestones_on_track_line_and_every_entry(
        api, clock, harness, start_worker, tmp_path):
    goal = api.create(phq9_goal(title="PHQ-9 <10 & walking", milestones=[{"title": "Out of moderate", "value": 13,
                                                                          "due_date": "2026-02-15"}]))
    start_worker()
    clock.advance(days=7)
    assert api.post(f"/v1/goals/{goal['id']}/progress", {"value": 15}).status_code == 201
    clock.advance(days=7)
    assert api.post(f"/v1/goals/{goal['id']}/progress", {"value": 14}, who=CLIENT).status_code == 201
    publish(harness, scored(12, completed_at="2026-01-26T08:30:00Z"))
    wait_for(lambda: len(api.get(f"/v1/goals/{goal['id']}/progress").json()["items"]) == 3, what="the score as progress")
    entries = api.get(f"/v1/goals/{goal['id']}/progress").json()["items"]
    shown = api.get(f"/v1/goals/{goal['id']}").json()

    answer = api.get(f"/v1/goals/{goal['id']}", headers=ACCEPT_SVG)
    root = parsed_chart(answer)

    assert text_of(root, "title") == f"Progress of goal {goal['title']}", "escaped once, read back as it was"
    assert [node.get("data-category") for node in of_class(root, "path", "point")] == [e["source"] for e in entries]
    assert {"therapist", "client", "score"} == {e["source"] for e in entries}
    desc = text_of(root, "desc")
    for entry in entries:
        assert f"{entry['recorded_at'][:10]}: {entry['value']:g} ({entry['source']})" in desc
    measure, [milestone] = shown["measure"], shown["milestones"]
    assert [node.text for node in of_class(root, "text", "level-label")] == [
        f"baseline {measure['baseline']:g}", f"target {measure['target']:g}",
        f"milestone {milestone['title']} {milestone['threshold']:g}",
    ]
    [guide] = of_class(root, "line", "guide")
    assert guide.find(f"{SVG}title").text == "on track"
    assert f"on track: from {measure['baseline']:g} on {shown['start_date']} to {measure['target']:g} on {shown['target_date']}" in desc
    assert [node.get("data-label") for node in of_class(root, "line", "mark")] == [
        f"milestone {milestone['title']} due", "target date"]

    assert_drawn_by_chromium(answer.content, tmp_path)


def test_the_same_chart_as_png(api):
    goal = api.create()
    api.post(f"/v1/goals/{goal['id']}/progress", {"value": 13})
    answer = api.get(f"/v1/goals/{goal['id']}", headers={"Accept": "image/png"})
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"
    assert answer.headers["Cache-Control"] == "no-store"
    image = Image.open(io.BytesIO(answer.content)).convert("RGB")
    assert image.size == (2 * WIDTH, 2 * HEIGHT)
    assert_not_blank(image)


def test_a_goal_without_entries_or_without_a_measure_gets_an_empty_chart_saying_so(api, tmp_path):
    fresh = parsed_chart(api.get(f"/v1/goals/{api.create()['id']}", headers=ACCEPT_SVG))
    assert of_class(fresh, "path", "point") == []
    assert [node.text for node in of_class(fresh, "text", "empty")] == ["No progress logged yet."]
    assert "No progress logged yet." in text_of(fresh, "desc")

    umbrella = api.create(phq9_goal(measure=None, title="Feel better"))
    answer = api.get(f"/v1/goals/{umbrella['id']}", headers=ACCEPT_SVG)
    root = parsed_chart(answer)
    [saying] = [node.text for node in of_class(root, "text", "empty")]
    assert "no measure" in saying and saying in text_of(root, "desc")
    assert_drawn_by_chromium(answer.content, tmp_path)


def test_a_goal_chart_is_scoped_like_the_json(api):
    goal = api.create()
    api.post(f"/v1/goals/{goal['id']}/progress", {"value": 13})
    assert api.get(f"/v1/goals/{goal['id']}", headers=ACCEPT_SVG, who=("client", "client-2", "clinic-a")).status_code == 404
    assert api.get(f"/v1/goals/{goal['id']}", headers=ACCEPT_SVG, who=("therapist", "therapist-1", "clinic-b")).status_code == 404
    assert len(of_class(parsed_chart(api.get(f"/v1/goals/{goal['id']}", headers=ACCEPT_SVG, who=CLIENT)), "path", "point")) == 1


@pytest.mark.parametrize("accept", ["text/csv", "image/gif", "text/html, application/xml;q=0.9"])
def test_a_chart_in_a_type_not_served_is_406_naming_accept(api, db, accept):
    goal = api.create()
    before = counts(db)
    answer = api.get(f"/v1/goals/{goal['id']}", headers={"Accept": accept})
    assert answer.status_code == 406, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "Accept" in answer.json()["errors"]
    assert counts(db) == before
    assert api.get(f"/v1/goals/{goal['id']}", headers={"Accept": "*/*"}).json()["id"] == goal["id"]
