"""Placing a new response in a client's series: its number, previous response and baseline."""
from __future__ import annotations

from services.questionnaires.domain import Link, Reference, place


def ref(n: int, total: int) -> Reference:
    return Reference(f"r{n}", total)


def test_the_first_response_is_its_own_baseline():
    placement = place(None)
    assert (placement.seq, placement.previous, placement.baseline) == (1, None, None)
    assert placement.is_baseline


def test_later_responses_compare_with_the_baseline_and_the_one_before():
    second = place(Link(1, ref(1, 18), ref(1, 18)))
    assert (second.seq, second.previous, second.baseline) == (2, ref(1, 18), ref(1, 18))
    third = place(Link(2, ref(2, 14), ref(1, 18)))
    assert (third.seq, third.previous, third.baseline) == (3, ref(2, 14), ref(1, 18))


def test_a_marked_baseline_starts_a_new_comparison():
    marked = place(Link(2, ref(2, 15), ref(1, 20)), mark_baseline=True)
    assert marked.is_baseline and marked.seq == 3 and marked.previous == ref(2, 15)


def test_marking_the_first_response_changes_nothing():
    assert place(None, mark_baseline=True) == place(None)
