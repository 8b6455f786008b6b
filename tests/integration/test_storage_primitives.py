"""The shared storage primitives against the real database: the timetable periodic jobs read,
period-bucketed list pages, and the retention of bookkeeping."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.mongo import Database, Scope, ScopedCollection
from shared.paging import Listing, decode_cursor, period_indexes
from shared.periods import period_of, slot_of
from shared.retention import expiry, indexes as retention_indexes, purge
from shared.timetable import Timetable

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def database(harness):
    db = Database(harness.mongo_url, harness.database_name("primitives"))
    yield db
    db.close()


def test_periods_number_windows_the_same_way_on_every_call():
    assert period_of(datetime(1970, 1, 2, tzinfo=timezone.utc), "day") == 1
    assert period_of(datetime(1971, 2, 1, tzinfo=timezone.utc), "month") == 13
    assert period_of(datetime(2026, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-2))), "year") == 2027
    assert slot_of(datetime(1970, 1, 1, 0, 2, 59, tzinfo=timezone.utc), 60) == 2
    with pytest.raises(ValueError):
        period_of(NOW, "week")


def test_a_timetable_hands_out_what_is_due_once_handled_and_keeps_what_is_not(database):
    table = Timetable(database, "work", slot_seconds=60, overlap=timedelta(minutes=2))
    table.put("late", NOW - timedelta(hours=3), NOW)  # overdue already: goes in the current window
    table.put("now", NOW, NOW)
    table.put("soon", NOW + timedelta(seconds=30), NOW)
    table.put("later", NOW + timedelta(hours=1), NOW)
    assert table.put("now", NOW, NOW) is False  # one entry per id

    seen: list[str] = []
    assert table.run(NOW, lambda entry: (seen.append(entry["_id"]), table.done(entry["_id"]))) == 2
    assert sorted(seen) == ["late", "now"]

    seen.clear()
    table.run(NOW + timedelta(seconds=31), lambda entry: (seen.append(entry["_id"]), table.done(entry["_id"])))
    assert seen == ["soon"]

    seen.clear()
    table.run(NOW + timedelta(hours=2), lambda entry: seen.append(entry["_id"]))  # not marked done
    assert seen == ["later"]
    seen.clear()
    table.run(NOW + timedelta(hours=2, minutes=30), lambda entry: seen.append(entry["_id"]))
    assert seen == ["later"], "an entry its handler did not finish is handed out again"


def test_a_timetable_does_not_miss_an_entry_written_late_into_a_passed_window(database):
    table = Timetable(database, "work", slot_seconds=60, overlap=timedelta(minutes=5))
    table.run(NOW, lambda entry: None)
    # A writer whose clock is two minutes behind the job's puts work "due now" by its clock.
    table.put("from-a-slow-clock", NOW - timedelta(minutes=2), NOW - timedelta(minutes=2))
    seen: list[str] = []
    table.run(NOW + timedelta(seconds=10), lambda entry: (seen.append(entry["_id"]), table.done(entry["_id"])))
    assert seen == ["from-a-slow-clock"]


def test_a_failing_handler_moves_its_entry_later_instead_of_blocking_the_others(database):
    table = Timetable(database, "work", slot_seconds=60)
    table.put("broken", NOW, NOW)
    table.put("fine", NOW, NOW)
    done: list[str] = []

    def handle(entry):
        if entry["_id"] == "broken":
            raise RuntimeError("a bug")
        done.append(entry["_id"])
        table.done(entry["_id"])

    table.run(NOW, handle, retry_after=timedelta(minutes=10))
    assert done == ["fine"]
    assert [e["_id"] for e in table.due(NOW + timedelta(minutes=1), 10)] == []
    assert [e["_id"] for e in table.due(NOW + timedelta(minutes=11), 10)] == [f"broken~{table.slot(NOW)}"]


def test_a_listing_pages_newest_first_across_periods_without_repeats(database):
    inbox = Listing("inbox", ("tenant", "recipient_id"), "created_at", period="month")
    records = ScopedCollection(database["notes"], Scope("clinic-a"), client_field=None)
    stored = []
    for day in range(0, 200, 7):  # about seven months of notes, one a week
        note = {"_id": f"n{day:03d}", "tenant": "clinic-a", "recipient_id": "t1",
                "created_at": NOW - timedelta(days=day)}
        records.insert_one(inbox.stamp(database, note))
        stored.append(note["_id"])
    other = {"_id": "other", "tenant": "clinic-a", "recipient_id": "t2", "created_at": NOW}
    records.insert_one(inbox.stamp(database, other))

    pages, cursor = [], None
    while True:
        items, cursor = inbox.page(database, records, {"tenant": "clinic-a", "recipient_id": "t1"}, limit=4,
                                   cursor=cursor)
        pages.append([item["_id"] for item in items])
        if cursor is None:
            break
        assert decode_cursor(cursor)[1] == items[-1]["_id"]
    flat = [item for page in pages for item in page]
    assert flat == stored  # newest first, every note once, the other recipient's never
    assert all(len(page) == 4 for page in pages[:-1])


def test_a_listing_narrowed_by_a_filter_reads_on_until_the_page_is_full(database):
    alerts = Listing("alerts", ("tenant",), "raised_at", period="day")
    records = ScopedCollection(database["alerts"], Scope("clinic-a"), client_field=None)
    for hour in range(0, 24 * 10, 5):
        document = {"_id": f"a{hour:04d}", "tenant": "clinic-a", "raised_at": NOW - timedelta(hours=hour),
                    "status": "open" if hour % 3 == 0 else "closed"}
        records.insert_one(alerts.stamp(database, document))
    items, cursor = alerts.page(database, records, {"tenant": "clinic-a"}, limit=5, cursor=None,
                                where={"status": "open"})
    assert [item["_id"] for item in items] == ["a0000", "a0015", "a0030", "a0045", "a0060"]
    assert cursor is not None


def test_listing_and_retention_indexes_are_declared_for_their_lookups():
    listing = Listing("inbox", ("tenant", "recipient_id"), "created_at", period="month")
    assert [list(i.keys) for i in listing.indexes("notes")] == [[("tenant", 1), ("recipient_id", 1), ("month_no", 1)]]
    assert [list(i.keys) for i in period_indexes()] == [[("list", 1)]]
    ttl, by_day = retention_indexes("marks")
    assert ttl.expire_after_seconds == 0 and list(by_day.keys) == [("expiry_day", 1)]


def test_retention_deletes_expired_marks_a_day_at_a_time_and_keeps_the_rest(database):
    marks = database["marks"]
    Database(database.url, database.name, retention_indexes("marks")).ensure_indexes()
    keep = timedelta(days=14)
    for days_ago in range(30):
        written = NOW - timedelta(days=days_ago)
        marks.insert_one({"_id": f"m{days_ago}", **expiry(written, keep)})
    deleted = purge(database, ["marks"], NOW)
    left = sorted(int(doc["_id"][1:]) for doc in marks.find())
    # Marks that expired before today are gone; those expiring today or later stay.
    assert left == list(range(15))
    assert deleted == 15
    assert purge(database, ["marks"], NOW) == 0


def test_a_timetable_jumps_a_long_empty_stretch_with_one_read(database):
    table = Timetable(database, "work", slot_seconds=10)
    table.run(NOW, lambda entry: None)
    later = NOW + timedelta(days=30)  # 259,200 windows of ten seconds: not one lookup each
    table.put("after-the-jump", later - timedelta(days=2), NOW + timedelta(days=3))
    lookups = []
    original = database["work"].find

    class Counting:
        def __getattr__(self, name):
            return getattr(database["work"], name)

        def find(self, *args, **kwargs):
            lookups.append(args)
            return original(*args, **kwargs)

    table.__class__ = type("CountingTimetable", (Timetable,), {"entries": property(lambda self: Counting())})
    seen: list[str] = []
    table.run(later, lambda entry: (seen.append(entry["_id"]), table.done(entry["_id"])))
    assert seen == ["after-the-jump"]
    assert len(lookups) < 10
