"""Every hot query of every service is answered through an index, read from the server's own plan.

The queries are those docs/STORAGE.md lists for each service ("Hot queries"), with the indexes the
services declare (each service's ``config.INDEXES``, and the shared components' own: outbox,
consumer marks, leases, timetables, list directories, the access audit), on collections large
enough that PostgreSQL would not choose an index for a small table's sake. On FerretDB only the top-level
equalities reach PostgreSQL, so these filters are exactly what each query hands to it; sort,
limit, a cursor's ``$or`` and a projection are applied to what the index found.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from services.goals import config as goals
from services.notifications import config as notifications
from services.questionnaires import config as questionnaires
from shared import audit
from shared.events.consumer import PROCESSED, processed_indexes
from shared.events.outbox import DEFERRED, SENT, outbox_indexes
from shared.journal import JOURNAL
from shared.leases import CLAIMS, MEMBERS
from shared.paging import PERIODS_COLLECTION, period_indexes
from shared.timetable import CURSORS
from tests.support.explain import indexes_used

DOCUMENTS = 5_000
AT = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)

# (collection, filter): per service, as the code issues them.
HOT_QUERIES = {
    "goals": [
        ("goal_history", {"tenant": "t", "goal_id": "g"}),
        ("goal_history", {"tenant": "t", "goal_id": "g", "record": "progress"}),
        ("current_goals", {"tenant": "t", "client_id": "c"}),
        ("current_goals", {"tenant": "t", "client_id": "c", "status": "active"}),
        ("current_goals", {"tenant": "t", "parent_goal_id": "g"}),
        ("current_goals", {"tenant": "t", "client_id": "c", "instrument": "phq9"}),
        ("current_goals", {"tenant": "t", "therapist_id": "th", "month_no": 675}),
        ("current_goals", {"tenant": "t", "status": "active", "month_no": 675}),
        ("current_goals", {"tenant": "t", "month_no": 675}),
        ("current_goals", {"_id": "g"}),
        ("instruments", {"_id": "t:alliance4"}),
        ("client_erasure_reports", {"tenant": "t", "erasure_id": "e"}),
        ("goal_refreshes", {"slot": 29542800}),
        ("goal_deadlines", {"slot": 20514}),
    ],
    "questionnaires": [
        ("responses", {"tenant": "t", "client_id": "c", "instrument": "phq9"}),
        ("responses", {"tenant": "t", "client_id": "c"}),
        ("responses", {"tenant": "t", "client_id": "c", "year_no": 2026}),
        ("responses", {"tenant": "t", "day_no": 20514}),
        ("responses", {"_id": "r"}),
        ("assignments", {"tenant": "t", "client_id": "c"}),
        ("assignments", {"tenant": "t", "month_no": 675}),
        ("assignment_cancellations", {"tenant": "t", "client_id": "c"}),
        ("fulfilments", {"tenant": "t", "client_id": "c"}),
        ("assignments", {"tenant": "t", "client_id": "c", "instrument": "phq9"}),
        ("reminders", {"tenant": "t", "client_id": "c"}),
        ("instruments", {"tenant": "t"}),
        ("reminder_timetable", {"slot": 29542800}),
        ("series_summaries", {"tenant": "t", "instrument": "phq9"}),
        ("series_summaries", {"tenant": "t", "instrument": "phq9", "cohort": "2026-01"}),
        ("series_summaries", {"_id": "s"}),
        ("client_therapists", {"tenant": "t", "therapist_id": "th"}),
    ],
    "notifications": [
        ("notifications", {"tenant": "t", "recipient_id": "th", "month_no": 675, "inbox": True}),
        ("alerts", {"tenant": "t", "month_no": 675}),
        ("alerts", {"tenant": "t", "month_no": 675, "status": "raised"}),
        ("alerts", {"tenant": "t", "client_id": "c", "year_no": 2026}),
        ("alerts", {"status": "raised"}),
        ("delivery_attempts", {"tenant": "t", "subscription_id": "s", "day_no": 20514}),
        ("delivery_attempts", {"_id": "d:1"}),
        ("alert_events", {"tenant": "t", "alert_id": "a"}),
        ("memberships", {"tenant": "t", "group": "care_team", "client_id": "c"}),
        ("memberships", {"tenant": "t", "group": "clinicians"}),
        ("subscriptions", {"tenant": "t"}),
        ("subscription_events", {"tenant": "t", "subscription_id": "s"}),
        ("held_emails", {"tenant": "t", "recipient_id": "c"}),
        ("notifications", {"tenant": "t", "client_id": "c"}),
        ("deliveries", {"tenant": "t", "client_id": "c"}),
        ("delivery_attempts", {"tenant": "t", "client_id": "c"}),
        ("alert_events", {"tenant": "t", "client_id": "c"}),
        ("memberships", {"tenant": "t", "client_id": "c"}),
        ("preferences", {"tenant": "t", "user_id": "c"}),
        ("subscription_secrets", {"tenant": "t", "subscription_id": "s"}),
        ("email_timetable", {"slot": 29542800}),
        ("webhook_timetable", {"slot": 29542800}),
        ("escalation_timetable", {"slot": 29542800}),
    ],
    # The shared components, in every service's database.
    "shared": [
        (JOURNAL, {"partition": 3}),
        (SENT, {"slot": 29542800}),
        (DEFERRED, {"slot": 29542800}),
        (PROCESSED, {"expiry_day": 20514}),
        (PROCESSED, {"_id": "consumer:event"}),
        ("records", {"outbox_slot": 29542800}),
        (PERIODS_COLLECTION, {"list": "inbox\x1ft\x1fth"}),
        (CLAIMS, {"lease": "outbox", "window": 177256800}),
        (MEMBERS, {"lease": "outbox", "window": 177256800}),
        (CURSORS, {"_id": "email_timetable"}),
        (audit.COLLECTION, {"tenant": "t", "day_no": 20514}),
        (audit.COLLECTION, {"tenant": "t", "client_id": "c", "day_no": 20514}),
        (audit.COLLECTION, {"tenant": "t", "actor": "a", "day_no": 20514}),
    ],
}
INDEXES = {
    "goals": goals.INDEXES,
    "questionnaires": questionnaires.INDEXES,
    "notifications": notifications.INDEXES,
    "shared": (*outbox_indexes(["records"]), *processed_indexes(), *period_indexes(), *audit.indexes()),
}


def _other(value, n: int):
    """A value of the same type as ``value`` that the filter does not match (but for one in 100)."""
    if n % 100 == 0:
        return value
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + n % 1000 + 1
    return f"{value}-{n}"


def _documents(queries: list[tuple[str, dict]], collection: str) -> list[dict]:
    fields: dict = {}
    for name, query in queries:
        if name == collection:
            fields.update(query)
    fields.pop("_id", None)
    documents = []
    for n in range(DOCUMENTS):
        document = {"_id": f"doc-{n}", "created_at": AT, "due_at": AT, "note": f"unindexed-{n}"}
        document.update({field: _other(value, n + hash(field) % 7) for field, value in fields.items()})
        documents.append(document)
    return documents


@pytest.fixture(scope="module", params=sorted(HOT_QUERIES))
def populated(request, mongo_url):
    from shared.mongo import Database

    service = request.param
    name = f"test_{uuid.uuid4().hex[:10]}_hot"
    database = Database(mongo_url, name, INDEXES[service])
    database.ensure_indexes()
    queries = HOT_QUERIES[service]
    for collection in sorted({c for c, _ in queries}):
        database[collection].insert_many(_documents(queries, collection), ordered=False)
    yield service, database
    database.client.drop_database(name)
    database.close()


def test_every_hot_query_reads_an_index(populated):
    service, database = populated
    scans = [
        f"{collection} {query}"
        for collection, query in HOT_QUERIES[service]
        if not indexes_used(database[collection], query)
    ]
    assert not scans, f"{service}: answered without an index:\n" + "\n".join(scans)


def test_the_check_can_fail_a_query_on_an_unindexed_field(populated):
    service, database = populated
    collection = HOT_QUERIES[service][0][0]
    assert not indexes_used(database[collection], {"note": "unindexed-7"})
