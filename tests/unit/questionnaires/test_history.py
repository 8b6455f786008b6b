"""Placing a new response in a client's series: its number, previous response and baseline."""
from __future__ import annotations

from services.questionnaires.domain import Link, Reference, place


def ref(n: int, total: int) -> Reference:
    return Reference(f"r{n}", total)


def test_the_first_response_is_its_own_baseline():
    placement = place(None)
    assert (placement.seq, placement.previous, placement.baseline) == (1, None, None)
    assert placement.is_baseline
    link = placement.link("r1", 18)
    assert link == Link(1, ref(1, 18), ref(1, 18))


def test_later_responses_compare_with_the_first_and_the_one_before():
    link = place(None).link("r1", 18)
    second = place(link)
    assert (second.seq, second.previous, second.baseline) == (2, ref(1, 18), ref(1, 18))
    link = second.link("r2", 14)
    third = place(link)
    assert (third.seq, third.previous, third.baseline) == (3, ref(2, 14), ref(1, 18))


def test_a_marked_baseline_starts_a_new_comparison():
    link = place(place(None).link("r1", 20)).link("r2", 15)
    marked = place(link, mark_baseline=True)
    assert marked.is_baseline and marked.previous == ref(2, 15)
    after = place(marked.link("r3", 12))
    assert after.baseline == ref(3, 12) and after.previous == ref(3, 12)


def test_marking_the_first_response_changes_nothing():
    assert place(None, mark_baseline=True) == place(None)


def test_a_link_round_trips_through_a_document():
    link = Link(7, ref(7, 9.5), ref(2, 20))
    assert Link.from_dict(link.to_dict()) == link
