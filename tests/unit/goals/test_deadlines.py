from datetime import date

import pytest

from services.goals.domain.deadlines import due_soon_from, is_due_soon, is_overdue

TODAY = date(2025, 1, 6)


@pytest.mark.parametrize("target_date, expected", [
    (date(2025, 1, 6), True),    # today
    (date(2025, 1, 13), True),   # 7 days ahead
    (date(2025, 1, 14), False),  # 8 days ahead
    (date(2025, 1, 5), False),   # already past: overdue, not due soon
    ("2025-01-10", True),
    (None, False),
])
def test_due_soon_within_seven_days(target_date, expected):
    assert is_due_soon(target_date, TODAY, 7) is expected


def test_due_soon_with_zero_days_is_due_today():
    assert is_due_soon(TODAY, TODAY, 0)
    assert not is_due_soon(date(2025, 1, 7), TODAY, 0)


def test_due_soon_refuses_negative_days():
    with pytest.raises(ValueError):
        is_due_soon(TODAY, TODAY, -1)


@pytest.mark.parametrize("target_date, status, expected", [
    (date(2025, 1, 5), "active", True),
    (date(2025, 1, 5), "on_hold", True),
    (date(2025, 1, 5), "achieved", False),
    (date(2025, 1, 5), "abandoned", False),
    (date(2025, 1, 6), "active", False),  # due today is not yet overdue
    (None, "active", False),
])
def test_overdue_only_for_open_goals_past_their_date(target_date, status, expected):
    assert is_overdue(target_date, TODAY, status) is expected


def test_a_goal_is_due_soon_from_days_before_its_target_date_on():
    first = due_soon_from("2025-01-13", 7)
    assert first == date(2025, 1, 6)
    assert is_due_soon("2025-01-13", first, 7) is True
    assert is_due_soon("2025-01-13", date(2025, 1, 5), 7) is False, "the day before it is not due soon yet"
    assert due_soon_from(None, 7) is None
