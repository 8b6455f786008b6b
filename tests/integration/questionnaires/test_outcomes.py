"""A clinic's outcomes, GET /v1/outcomes, over real HTTP against the real database.

Synthetic clients are seeded over HTTP (PHQ-9: reliable change 6 points, a case at 10 or more,
from its definition), each with the categories its series must fall in; every filter's answer
is checked against the clients that filter selects."""
from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from services.questionnaires.domain.outcomes import CATEGORIES, DENOMINATORS
from services.questionnaires.migrate import migrate
from shared.charts import HEIGHT, WIDTH
from tests.integration.questionnaires.conftest import gad7, phq9
from tests.support.charts import assert_drawn_by_chromium, assert_not_blank, of_class, parsed_chart, text_of

pytestmark = pytest.mark.integration

ADMIN = {"role": "admin", "sub": "admin-1"}


def day(month: int, date: int) -> datetime:
    return datetime(2026, month, date, 9, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Seeded:
    client_id: str
    therapist: str
    scores: tuple[tuple[datetime, int], ...]  # (completed_at, PHQ-9 total), in recording order
    categories: tuple[str, ...]  # where its series must be counted
    case_at_baseline: bool

    @property
    def cohort(self) -> str:
        return f"{self.scores[0][0]:%Y-%m}"

    @property
    def latest_day(self):
        return self.scores[-1][0].date()


CLIENTS = (
    Seeded("client-1", "therapist-1", ((day(1, 12), 18), (day(2, 10), 8)), ("reliable_improvement", "reliable_recovery"), True),
    Seeded("client-2", "therapist-1", ((day(1, 14), 15), (day(3, 3), 11)), ("no_reliable_change",), True),
    Seeded("client-3", "therapist-1", ((day(1, 20), 8), (day(2, 1), 10), (day(3, 10), 16)), ("deterioration",), False),
    Seeded("client-4", "therapist-1", ((day(2, 2), 12),), ("not_enough_data",), True),
    Seeded("client-5", "therapist-2", ((day(2, 5), 20), (day(3, 20), 12)), ("reliable_improvement",), True),
    Seeded("client-6", "therapist-2", ((day(2, 9), 6), (day(2, 20), 0)), ("reliable_improvement",), False),
)


def expected(clients) -> dict:
    """The answer's counts and denominators for these seeded clients, from their categories."""
    clients = list(clients)
    judged = [c for c in clients if "not_enough_data" not in c.categories]
    denominators = {"clients": len(clients), "judged": len(judged), "case_at_baseline": sum(c.case_at_baseline for c in judged)}
    outcomes = {}
    for category in CATEGORIES:
        count = sum(category in c.categories for c in clients)
        whole = denominators[DENOMINATORS[category]]
        outcomes[category] = {"count": count, "percent": round(100 * count / whole, 1) if whole else None,
                              "of": DENOMINATORS[category]}
    return {"denominators": denominators, "outcomes": outcomes}


@pytest.fixture
def seeded(service):
    """The clients above, each scored by its therapist, and in clinic-b a client of the same id
    and therapist whose scores must never appear in clinic-a."""
    service.clock.set(day(4, 1))
    for client in CLIENTS:
        for completed_at, total in client.scores:
            service.submit(client.client_id, "phq9", phq9(total), completed_at=completed_at.isoformat(), sub=client.therapist)
    service.submit("client-1", "gad7", gad7(12), completed_at=day(1, 12).isoformat())  # another instrument
    for completed_at, total in ((day(1, 12), 22), (day(2, 12), 22), (day(3, 12), 0)):
        service.submit("client-1", "phq9", phq9(total), tenant="clinic-b", completed_at=completed_at.isoformat())
    return service


def outcomes(service, **params):
    who = {key: params.pop(key) for key in ("role", "sub", "tenant", "headers") if key in params}
    answer = service.get("/v1/outcomes", params=params, **({**ADMIN, **who}))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_admin_sees_every_clients_outcome_with_its_denominators_and_filters(seeded):
    answer = outcomes(seeded, instrument="phq9")
    assert {key: answer[key] for key in ("denominators", "outcomes")} == expected(CLIENTS)
    assert answer["instrument"] == "phq9"
    assert answer["filters"] == {"instrument": "phq9", "therapist": None, "from": None, "to": None, "cohort": None}
    threshold = seeded.get("/v1/instruments/phq9").json()["change"]["reliable_change"]["points"]
    assert answer["reliable_change_threshold"] == threshold
    assert "NHS Talking Therapies" in answer["source"]
    assert outcomes(seeded) == answer, "PHQ-9 by default"


def test_each_filter_counts_the_clients_it_selects(seeded):
    by_therapist = outcomes(seeded, therapist="therapist-2")
    assert by_therapist["filters"]["therapist"] == "therapist-2"
    assert {k: by_therapist[k] for k in ("denominators", "outcomes")} == expected(c for c in CLIENTS if c.therapist == "therapist-2")

    cohort = outcomes(seeded, cohort="2026-01")
    assert cohort["filters"]["cohort"] == "2026-01"
    assert {k: cohort[k] for k in ("denominators", "outcomes")} == expected(c for c in CLIENTS if c.cohort == "2026-01")

    march = outcomes(seeded, **{"from": "2026-03-01", "to": "2026-03-31"})
    assert (march["filters"]["from"], march["filters"]["to"]) == ("2026-03-01", "2026-03-31")
    in_march = [c for c in CLIENTS if c.latest_day.month == 3]
    assert {k: march[k] for k in ("denominators", "outcomes")} == expected(in_march)
    assert len(in_march) == 3
    since = outcomes(seeded, **{"from": "2026-02-20"})
    assert since["denominators"]["clients"] == sum(c.latest_day >= day(2, 20).date() for c in CLIENTS)

    both = outcomes(seeded, therapist="therapist-1", cohort="2026-02")
    assert {k: both[k] for k in ("denominators", "outcomes")} == expected(
        c for c in CLIENTS if c.therapist == "therapist-1" and c.cohort == "2026-02")

    anxiety = outcomes(seeded, instrument="gad7")
    assert anxiety["denominators"] == {"clients": 1, "judged": 0, "case_at_baseline": 0}
    assert anxiety["outcomes"]["not_enough_data"]["count"] == 1


def test_a_therapist_sees_only_their_own_clients(seeded):
    mine = outcomes(seeded, role="therapist", sub="therapist-1")
    assert mine["filters"]["therapist"] == "therapist-1"
    assert {k: mine[k] for k in ("denominators", "outcomes")} == expected(c for c in CLIENTS if c.therapist == "therapist-1")
    assert outcomes(seeded, role="therapist", sub="therapist-1", therapist="therapist-1") == mine
    refused = seeded.get("/v1/outcomes", params={"therapist": "therapist-2"}, role="therapist", sub="therapist-1")
    assert refused.status_code == 403 and "therapist" in refused.json()["errors"]
    nobody = outcomes(seeded, role="therapist", sub="therapist-9")
    assert nobody["denominators"] == {"clients": 0, "judged": 0, "case_at_baseline": 0}
    for role in ("client", "service"):
        assert seeded.get("/v1/outcomes", role=role, sub="client-1").status_code == 403


def test_a_therapist_who_assigned_the_questionnaire_sees_the_client_who_answers_it(service):
    service.post("/v1/assignments", {"client_id": "client-7", "instrument": "phq9", "every_days": 7}, sub="therapist-3")
    service.post("/v1/assignments", {"client_id": "client-8", "instrument": "phq9", "every_days": 7,
                                     "therapist_id": "therapist-4"}, **ADMIN)
    for total in (16, 9):
        for client in ("client-7", "client-8"):
            service.submit(client, "phq9", phq9(total), role="client", sub=client)
        service.clock.advance(days=7)
    for therapist in ("therapist-3", "therapist-4"):
        answer = outcomes(service, role="therapist", sub=therapist)
        assert answer["denominators"] == {"clients": 1, "judged": 1, "case_at_baseline": 1}
        assert answer["outcomes"]["reliable_recovery"]["count"] == 1


def test_another_clinics_data_never_appears(seeded):
    elsewhere = outcomes(seeded, role="admin", sub="admin-9", tenant="clinic-b")
    assert elsewhere["denominators"] == {"clients": 1, "judged": 1, "case_at_baseline": 1}
    assert elsewhere["outcomes"]["reliable_recovery"]["count"] == 1
    theirs = outcomes(seeded, role="therapist", sub="therapist-1", tenant="clinic-b")
    assert theirs["denominators"]["clients"] == 1
    assert outcomes(seeded, role="admin", sub="admin-9", tenant="clinic-c")["denominators"]["clients"] == 0


def test_a_new_baseline_starts_the_outcome_again(service):
    service.submit("client-1", "phq9", phq9(20))
    service.submit("client-1", "phq9", phq9(8))
    assert outcomes(service)["outcomes"]["reliable_recovery"]["count"] == 1
    service.submit("client-1", "phq9", phq9(12), baseline=True)
    assert outcomes(service)["outcomes"]["not_enough_data"]["count"] == 1
    service.submit("client-1", "phq9", phq9(19))
    answer = outcomes(service)
    assert answer["outcomes"]["deterioration"]["count"] == 1 and answer["denominators"]["clients"] == 1


def test_responses_stored_at_once_leave_the_outcome_of_the_series_latest(service):
    """FerretDB v1 keeps one of two concurrent writes of a document: each writer of the summary
    re-reads the series after writing, so the summary still ends as the latest response's."""
    totals = [22, 4, 19, 7, 24, 3, 17, 11]
    with ThreadPoolExecutor(max_workers=len(totals)) as pool:
        list(pool.map(lambda total: service.submit("client-1", "phq9", phq9(total), sub="therapist-5"), totals))
    stored = service.get("/v1/responses", params={"client_id": "client-1", "limit": 200}).json()["items"]
    assert sorted(response["seq"] for response in stored) == list(range(1, len(totals) + 1))
    last = max(stored, key=lambda response: response["seq"])
    name = {"improved": "reliable_improvement", "deteriorated": "deterioration",
            "none": "no_reliable_change"}[last["change"]["reliable_change"]]
    answer = outcomes(service, role="therapist", sub="therapist-5")
    assert answer["denominators"]["clients"] == 1 and answer["outcomes"][name]["count"] == 1


def test_the_migration_summarizes_responses_stored_before(seeded):
    before = outcomes(seeded)
    mine = outcomes(seeded, role="therapist", sub="therapist-1")
    cohort = outcomes(seeded, cohort="2026-01")
    for collection in ("series_summaries", "client_therapists"):
        seeded.database[collection].delete_many({})
    # Responses recorded before a reference kept the time of the response it names: each
    # summary then reads its baseline's time from the baseline itself.
    for response in seeded.database["responses"].find({"baseline": False}):
        seeded.database["responses"].update_one({"_id": response["_id"]},
                                                {"$unset": {"compared_with.baseline.completed_at": ""}})
    assert seeded.database["responses"].count_documents({"compared_with.baseline.completed_at": {"$exists": True}}) == 0
    assert outcomes(seeded)["denominators"]["clients"] == 0
    done = migrate(seeded.reminders.database, seeded.clock.now(), timedelta(hours=48))
    assert done["series_summarized"] == len(CLIENTS) + 2  # clinic-a's PHQ-9 and GAD-7, clinic-b's PHQ-9
    assert outcomes(seeded) == before
    assert outcomes(seeded, cohort="2026-01") == cohort
    assert outcomes(seeded, role="therapist", sub="therapist-1") == mine
    assert migrate(seeded.reminders.database, seeded.clock.now(), timedelta(hours=48))["therapists_linked"] == 0


def test_the_outcomes_drawn_as_a_bar_per_category(seeded, tmp_path):
    answer = seeded.get("/v1/outcomes", headers={"Accept": "image/svg+xml"}, **ADMIN)
    root = parsed_chart(answer)
    counts = outcomes(seeded)
    bars = [(node.get("data-label"), int(node.get("data-value"))) for node in of_class(root, "rect", "bar")]
    assert bars == [(category.replace("_", " "), counts["outcomes"][category]["count"]) for category in CATEGORIES]
    assert "PHQ-9" in text_of(root, "title")
    desc = text_of(root, "desc")
    assert f"Outcomes of {len(CLIENTS)} clients" in desc
    recovery = counts["outcomes"]["reliable_recovery"]
    assert f"reliable recovery: {recovery['count']}, {recovery['percent']:g}% of {counts['denominators']['case_at_baseline']}." in desc
    assert_drawn_by_chromium(answer.content, tmp_path)

    png = seeded.get("/v1/outcomes", params={"therapist": "therapist-2"}, headers={"Accept": "image/png"}, **ADMIN)
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(png.content)).convert("RGB")
    assert image.size == (2 * WIDTH, 2 * HEIGHT)
    assert_not_blank(image)
    filtered = parsed_chart(seeded.get("/v1/outcomes", params={"cohort": "2030-01"}, headers={"Accept": "image/svg+xml"}, **ADMIN))
    assert "cohort 2030-01" in text_of(filtered, "desc") and of_class(filtered, "text", "empty")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"instrument": "nosuch"}, "instrument"),
        ({"instrument": "k10"}, "instrument"),  # publishes no reliable change rule
        ({"instrument": ""}, "instrument"),
        ({"cohort": "2026-13"}, "cohort"),
        ({"cohort": "January"}, "cohort"),
        ({"from": "2026-02-30"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-03-01", "to": "2026-02-01"}, "to"),
        ({"therapist": "therapist\u0007"}, "therapist"),
    ],
)
def test_a_bad_filter_is_a_422_naming_it(seeded, params, field):
    before = seeded.snapshot()
    answer = seeded.get("/v1/outcomes", params=params, **ADMIN)
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert field in answer.json()["errors"]
    assert seeded.snapshot() == before
