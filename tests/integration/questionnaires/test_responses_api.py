"""Submitting responses over HTTP: scores, bands, flags, change from baseline and previous,
trajectories, recovery, idempotent retries and paging."""
from __future__ import annotations

import itertools
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.questionnaires import config
from tests.support.questionnaires import gad7, phq9
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration


def test_a_phq9_course_is_scored_with_change_from_baseline_and_previous(service):
    first = service.submit("client-1", "phq9", phq9(18))
    assert first["score"]["total"] == 18
    assert first["score"]["severity"] == "moderately_severe"
    assert first["score"]["flags"] == []
    assert first["baseline"] is True and first["seq"] == 1
    assert first["change"]["baseline_total"] is None
    assert first["change"]["reliable_change"] is None
    assert first["change"]["case"] is True

    service.clock.advance(days=14)
    second = service.submit("client-1", "phq9", phq9(14))
    change = second["change"]
    assert (change["baseline_total"], change["previous_total"], change["delta"]) == (18, 18, -4)
    assert change["reliable_change"] == "none"  # 4 points is under PHQ-9's 6
    assert change["clinically_significant"] is False  # still a case (>= 10)

    service.clock.advance(days=14)
    third = service.submit("client-1", "phq9", phq9(4))
    change = third["change"]
    assert third["score"]["severity"] == "minimal"
    assert (change["baseline_total"], change["previous_total"], change["delta"]) == (18, 14, -14)
    assert change["reliable_change"] == "improved"
    assert change["clinically_significant"] is True  # a case at baseline, not now
    assert change["response"] is True  # fell by at least half
    assert change["remission"] is True  # below 5
    assert change["reliable_change_from_previous"] == "improved"  # 10 points since the last one


def test_a_gad7_course_and_deterioration(service):
    service.submit("client-2", "gad7", gad7(6))
    service.clock.advance(days=7)
    worse = service.submit("client-2", "gad7", gad7(12))
    assert worse["score"]["severity"] == "moderate"
    assert worse["change"]["reliable_change"] == "deteriorated"  # +6 >= GAD-7's 4
    assert worse["change"]["clinically_significant_deterioration"] is True  # crossed 8 upwards
    assert worse["change"]["response"] is False


def test_answers_by_item_id_score_like_answers_in_order(service):
    by_id = service.submit("client-3", "gad7", {str(n): 2 for n in range(1, 8)})
    in_order = service.submit("client-4", "gad7", [2] * 7)
    assert by_id["score"] == in_order["score"]
    assert by_id["answers"] == in_order["answers"] == {str(n): 2 for n in range(1, 8)}


def test_a_marked_baseline_replaces_the_first(service):
    service.submit("client-5", "phq9", phq9(20))
    service.clock.advance(days=30)
    restart = service.submit("client-5", "phq9", phq9(12), baseline=True)
    assert restart["baseline"] is True
    assert restart["change"]["baseline_total"] is None
    assert restart["change"]["previous_total"] == 20
    service.clock.advance(days=14)
    later = service.submit("client-5", "phq9", phq9(5))
    assert later["change"]["baseline_total"] == 12
    assert later["change"]["delta"] == -7


def test_item_9_raises_the_self_harm_flag_with_its_value(service):
    response = service.submit("client-6", "phq9", phq9(12, item9=2))
    assert response["score"]["flags"] == [{"code": "self_harm_risk", "item": "9", "value": 2}]


def test_a_therapist_submitting_is_named_and_a_client_may_submit_its_own(service):
    by_therapist = service.submit("client-7", "gad7", gad7(3))
    assert by_therapist["therapist_id"] == "therapist-1"
    assert by_therapist["submitted_by"] == "therapist-1"
    own = service.post("/v1/responses", {"instrument": "gad7", "answers": gad7(4)}, role="client", sub="client-7")
    assert own.status_code == 201, own.text
    assert own.json()["client_id"] == "client-7"
    assert own.json()["therapist_id"] is None
    assert own.json()["change"]["previous_total"] == 3


def test_a_response_reads_back_as_it_was_answered(service):
    created = service.submit("client-8", "who5", [3, 3, 2, 4, 5])
    assert created["score"]["extras"] == {"percentage": 68}
    found = service.get(f"/v1/responses/{created['id']}")
    assert found.status_code == 200
    assert found.json() == created


def test_a_retry_with_the_same_key_returns_the_first_response_and_stores_nothing_new(service):
    queue = service.harness.bind_queue(["questionnaire.scored"])
    service.worker()
    key = {"Idempotency-Key": f"submit-{uuid.uuid4()}"}
    body = {"client_id": "client-9", "instrument": "phq9", "answers": phq9(11)}
    first = service.post("/v1/responses", body, headers=key)
    assert first.status_code == 201
    service.clock.advance(minutes=5)
    again = service.post("/v1/responses", body, headers=key)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()

    other = service.post("/v1/responses", {**body, "answers": phq9(12)}, headers=key)
    assert other.status_code == 409
    assert other.headers["Content-Type"] == "application/problem+json"

    assert service.database["responses"].count_documents({"client_id": "client-9"}) == 1
    wait_for(lambda: service.harness.message_count(queue) >= 1, what="the scored event")
    # Once the relay has published all that was stored, a second event would be in the queue.
    service.harness.wait_relayed(config.SERVICE)
    assert len(service.harness.drain(queue)) == 1
    # The next response follows the first, not a phantom second.
    following = service.submit("client-9", "phq9", phq9(5))
    assert following["seq"] == 2 and following["change"]["previous_total"] == 11


def test_concurrent_submissions_for_one_client_take_distinct_places(service):
    totals = [3, 6, 9, 12, 15, 18]
    with ThreadPoolExecutor(len(totals)) as pool:
        answers = list(pool.map(lambda t: service.post(
            "/v1/responses", {"client_id": "client-10", "instrument": "phq9", "answers": phq9(t)}), totals))
    assert [a.status_code for a in answers] == [201] * len(totals)
    placed = sorted((a.json()["seq"], a.json()) for a in answers)
    assert [seq for seq, _ in placed] == list(range(1, len(totals) + 1))
    for (_, before), (_, after) in itertools.pairwise(placed):
        assert after["change"]["previous_total"] == before["score"]["total"]
    first = placed[0][1]
    assert all(r["change"]["baseline_total"] == first["score"]["total"] for _, r in placed[1:])


def test_responses_page_newest_first_without_repeats(service):
    ids = []
    for total in range(0, 21, 4):
        ids.append(service.submit("client-11", "gad7", gad7(total))["id"])
        service.clock.advance(days=1)
    service.submit("client-12", "gad7", gad7(1))
    seen, cursor = [], None
    while True:
        query = {"client_id": "client-11", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = service.get("/v1/responses", params=query)
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    only_phq9 = service.get("/v1/responses", params={"client_id": "client-11", "instrument": "phq9"})
    assert only_phq9.json() == {"items": [], "next_cursor": None}


def test_the_trajectory_is_ready_for_a_chart(service):
    for total in (16, 12, 7):
        service.submit("client-13", "phq9", phq9(total, item9=1 if total == 16 else 0))
        service.submit("client-13", "gad7", gad7(total - 4))
        service.clock.advance(days=14)
    answer = service.get("/v1/clients/client-13/scores", params={"instrument": "phq9"})
    assert answer.status_code == 200
    [series] = answer.json()["series"]
    assert series["instrument"] == "phq9"
    assert series["range"] == [0, 27]
    assert series["direction"] == "higher_is_worse"
    assert [band["label"] for band in series["bands"]][:2] == ["minimal", "mild"]
    assert series["caseness"] == {"at_or_above": 10, "below": None}
    assert series["reliable_change_threshold"] == 6
    points = series["points"]
    assert [p["total"] for p in points] == [16, 12, 7]
    assert [p["severity"] for p in points] == ["moderately_severe", "moderate", "mild"]
    assert points[0]["flags"] == [{"code": "self_harm_risk", "item": "9", "value": 1}]
    assert points[0]["baseline"] is True
    assert points[2]["change"]["reliable_change"] == "improved"
    assert points[0]["completed_at"] < points[1]["completed_at"] < points[2]["completed_at"]

    everything = service.get("/v1/clients/client-13/scores").json()["series"]
    assert [s["instrument"] for s in everything] == ["gad7", "phq9"]


def test_backdated_responses_chart_in_time_order(service):
    service.submit("client-14", "gad7", gad7(10), completed_at="2026-01-04T09:00:00Z")
    service.submit("client-14", "gad7", gad7(14), completed_at="2026-01-01T09:00:00Z")
    [series] = service.get("/v1/clients/client-14/scores", params={"instrument": "gad7"}).json()["series"]
    assert [p["total"] for p in series["points"]] == [14, 10]


def test_recovery_over_phq9_and_gad7(service):
    service.submit("client-15", "phq9", phq9(16))
    service.submit("client-15", "gad7", gad7(13))
    not_yet = service.get("/v1/clients/client-15/recovery").json()
    assert not_yet["outcome"] is None
    assert "only its baseline" in not_yet["reason"]

    service.clock.advance(days=56)
    service.submit("client-15", "phq9", phq9(6))
    service.submit("client-15", "gad7", gad7(5))
    answer = service.get("/v1/clients/client-15/recovery")
    assert answer.status_code == 200
    body = answer.json()
    assert body["depression"]["baseline_total"] == 16 and body["depression"]["final_total"] == 6
    assert body["anxiety"]["baseline_total"] == 13 and body["anxiety"]["final_total"] == 5
    outcome = body["outcome"]
    assert outcome["case_at_baseline"] is True
    assert outcome["recovered"] is True
    assert outcome["reliable_improvement"] is True
    assert outcome["reliably_recovered"] is True
    assert "NHS Talking Therapies" in outcome["source"]


def test_recovery_needs_measures_with_recovery_rules(service):
    answer = service.get("/v1/clients/client-16/recovery", params={"anxiety": "phq15"})
    assert answer.status_code == 422
    assert "anxiety" in answer.json()["errors"]


def pages(service, path: str, params: dict, **caller) -> list[str]:
    """Every item id of a list, page after page."""
    seen, cursor = [], None
    while True:
        answer = service.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, **caller)
        assert answer.status_code == 200, answer.text
        seen += [item["id"] for item in answer.json()["items"]]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return seen


def test_a_tenants_responses_page_newest_first_across_days_and_clients(service):
    made = []
    for n in range(8):
        instrument = "gad7" if n % 3 == 0 else "phq9"
        response = service.submit(f"client-{20 + n % 2}", instrument, gad7(n) if instrument == "gad7" else phq9(n))
        made.append((response["id"], instrument))
        service.clock.advance(hours=10)  # over four days
    backdated = service.submit("client-22", "gad7", gad7(2), completed_at="2025-01-01T09:00:00Z")
    service.submit("client-20", "gad7", gad7(1), tenant="clinic-b")

    newest_first = [response_id for response_id, _ in reversed(made)] + [backdated["id"]]
    assert pages(service, "/v1/responses", {"limit": 3}) == newest_first
    only_gad7 = [response_id for response_id, code in reversed(made) if code == "gad7"] + [backdated["id"]]
    assert pages(service, "/v1/responses", {"limit": 2, "instrument": "gad7"}) == only_gad7
    # A client's own list, a year earlier included.
    assert pages(service, "/v1/responses", {"limit": 1}, role="client", sub="client-22") == [backdated["id"]]
    assert pages(service, "/v1/responses", {"limit": 50}, tenant="clinic-b") != []
