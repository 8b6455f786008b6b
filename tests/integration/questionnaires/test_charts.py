"""A client's trajectory drawn as SVG and PNG on GET /v1/clients/{id}/scores, by Accept.

Each SVG is parsed and checked against the JSON trajectory and the instrument's definition, and
opened once in headless Chromium, which must draw it without errors and not blank."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from PIL import Image

from shared.charts import HEIGHT, WIDTH
from tests.support.questionnaires import phq9
from tests.support.charts import assert_drawn_by_chromium, assert_not_blank, of_class, parsed_chart, text_of

pytestmark = pytest.mark.integration

ACCEPT_SVG = {"Accept": "image/svg+xml"}


def chart(service, client_id: str, instrument: str = "phq9", **kwargs):
    headers = {**ACCEPT_SVG, **kwargs.pop("headers", {})}
    return service.get(f"/v1/clients/{client_id}/scores?instrument={instrument}", headers=headers, **kwargs)


def points(root) -> list[str | None]:
    return [node.get("data-category") for node in of_class(root, "path", "point")]


def test_a_trajectory_is_drawn_with_its_bands_cut_off_corridor_categories_and_due_dates(service, tmp_path):
    service.post("/v1/assignments", {"client_id": "client-1", "instrument": "phq9", "every_days": 7,
                                     "starts_at": "2026-01-05T09:00:00Z"})
    for total in (18, 11, 16, 24):
        service.submit("client-1", "phq9", phq9(total))
        service.clock.advance(days=7)
    service.submit("client-2", "phq9", phq9(3))  # another client's score: never on client-1's chart

    trajectory = service.get("/v1/clients/client-1/scores?instrument=phq9").json()["series"][0]
    definition = service.get("/v1/instruments/phq9").json()
    answer = chart(service, "client-1")
    root = parsed_chart(answer)

    title, desc = text_of(root, "title"), text_of(root, "desc")
    assert definition["name"] in title and "client-1" in title
    expected = ["baseline" if p["baseline"] else p["change"]["reliable_change"] for p in trajectory["points"]]
    assert points(root) == expected
    assert {"baseline", "improved", "deteriorated", "none"} <= set(expected)
    for point in trajectory["points"]:
        assert f"{point['completed_at'][:10]}: {point['total']:g}, {point['severity']}" in desc
    bands = [node.get("data-label") for node in of_class(root, "rect", "band")]
    assert bands == [band["label"] for band in sorted(definition["bands"], key=lambda band: band["min"])]
    levels = of_class(root, "text", "level-label")
    assert [node.text for node in levels] == [f"caseness at or above {trajectory['caseness']['at_or_above']:g}"]
    corridor = of_class(root, "rect", "corridor")[0]
    baseline, threshold = trajectory["points"][0]["total"], trajectory["reliable_change_threshold"]
    assert f"less than {threshold:g} from baseline {baseline:g}" in corridor.get("data-label")
    assignment = service.get("/v1/assignments?client_id=client-1").json()["items"][0]
    marks = [node.get("data-label") for node in of_class(root, "line", "mark")]
    first, following = datetime.fromisoformat(assignment["starts_at"]), datetime.fromisoformat(assignment["next"]["due_at"])
    weeks = (following - first).days // 7
    assert marks == [f"due {first + timedelta(days=7 * week):%Y-%m-%d}" for week in range(weeks + 1)]
    assert weeks == 5, "the four weeks answered, the week opened now, and the next one"

    assert_drawn_by_chromium(answer.content, tmp_path)


def test_the_same_chart_as_png(service):
    service.submit("client-1", "phq9", phq9(12))
    answer = chart(service, "client-1", headers={"Accept": "image/png"})
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"
    assert answer.headers["Cache-Control"] == "no-store" and "Accept" in answer.headers["Vary"]
    image = Image.open(io.BytesIO(answer.content)).convert("RGB")
    assert image.size == (2 * WIDTH, 2 * HEIGHT)
    assert_not_blank(image)


def test_a_client_without_scores_gets_an_empty_chart_saying_so(service, tmp_path):
    service.submit("client-2", "phq9", phq9(9))
    saying = f"No {service.get('/v1/instruments/phq9').json()['name']} responses yet."
    answer = chart(service, "client-1")
    root = parsed_chart(answer)
    desc = text_of(root, "desc")
    assert points(root) == []
    assert saying in desc
    assert [node.text for node in of_class(root, "text", "empty")] == [saying]
    assert_drawn_by_chromium(answer.content, tmp_path)


def test_a_chart_is_scoped_like_the_json(service):
    service.submit("client-1", "phq9", phq9(14))
    assert chart(service, "client-1", role="client", sub="client-2").status_code == 403
    own = parsed_chart(chart(service, "client-1", role="client", sub="client-1"))
    assert len(points(own)) == 1
    other_clinic = parsed_chart(chart(service, "client-1", tenant="clinic-b"))
    assert points(other_clinic) == []


def test_json_stays_the_default(service):
    service.submit("client-1", "phq9", phq9(14))
    for accept in (None, "*/*", "application/json", "application/json, image/svg+xml;q=0.5"):
        answer = service.get("/v1/clients/client-1/scores?instrument=phq9", headers={"Accept": accept} if accept else {})
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
        assert answer.json()["series"][0]["points"][0]["total"] == 14


@pytest.mark.parametrize(
    ("path", "accept", "status", "field"),
    [
        ("/v1/clients/client-1/scores?instrument=phq9", "text/csv", 406, "Accept"),
        ("/v1/clients/client-1/scores?instrument=phq9", "image/gif, text/html;q=0.9", 406, "Accept"),
        ("/v1/clients/client-1/scores", "image/svg+xml", 422, "instrument"),
        ("/v1/clients/client-1/scores?instrument=nosuch", "image/svg+xml", 422, "instrument"),
        ("/v1/clients/client-1/scores?instrument=phq9", "image/png;q=x", 406, "Accept"),
    ],
)
def test_a_chart_asked_for_wrongly_is_a_problem_naming_what(service, path, accept, status, field):
    service.submit("client-1", "phq9", phq9(14))
    before = service.snapshot()
    answer = service.get(path, headers={"Accept": accept})
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert field in answer.json()["errors"]
    assert service.snapshot() == before
