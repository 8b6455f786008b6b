import threading
import time

from shared.heartbeat import beat, is_fresh, run
from shared.idempotency import fingerprint, record_id


def test_heartbeat_is_fresh_then_stale(tmp_path):
    path = tmp_path / "hb"
    assert not is_fresh(path)
    beat(path)
    assert is_fresh(path)
    assert not is_fresh(path, now=time.time() + 120)


def test_the_same_key_gives_the_same_id_only_for_the_same_tenant_caller_and_route():
    first = record_id("clinic-a", "t-1", "goals", "key-1")
    assert first == record_id("clinic-a", "t-1", "goals", "key-1")
    assert first != record_id("clinic-b", "t-1", "goals", "key-1")
    assert first != record_id("clinic-a", "t-2", "goals", "key-1")
    assert first != record_id("clinic-a", "t-1", "responses", "key-1")
    assert record_id("clinic-a", "t-1", "goals", None) != record_id("clinic-a", "t-1", "goals", None)


def test_fingerprint_ignores_key_order_but_not_values():
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_the_heartbeat_stops_beating_when_the_worker_is_not_healthy(tmp_path):
    path = tmp_path / "hb"
    assert run(path, threading.Event(), every_seconds=0.01, healthy=lambda: False) is False
    assert not path.exists()
    stop = threading.Event()
    stop.set()
    assert run(path, stop) is True
