from datetime import datetime, timedelta, timezone

from services.notifications.domain.attempts import (
    CANCELLED,
    INTERRUPTED,
    Attempt,
    attempt_reason,
    conclude,
    consecutive_failures,
    interrupted,
    next_step,
)
import pytest

from services.notifications.domain.delivery import TARGET_REFUSED, Outcome, RetryPolicy, classify_http

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
POLICY = RetryPolicy(base_seconds=10, factor=3, cap_seconds=60, max_attempts=3)


def test_a_new_delivery_makes_attempt_one_when_due():
    assert next_step([], NOW, NOW).due
    assert next_step([], NOW, NOW).number == 1


def test_a_new_delivery_waits_for_its_first_due_time():
    later = NOW + timedelta(hours=8)

    step = next_step([], later, NOW)

    assert (step.number, step.due, step.wait_until) == (1, False, later)


def test_a_failed_attempt_schedules_the_next_with_growing_delays():
    first = conclude(1, Outcome.RETRY, NOW, POLICY)
    second = conclude(2, Outcome.RETRY, NOW, POLICY)

    assert (first.final, first.next_attempt_at) == (False, NOW + timedelta(seconds=10))
    assert second.next_attempt_at == NOW + timedelta(seconds=30)
    assert next_step([first], NOW, NOW).wait_until == NOW + timedelta(seconds=10)
    step = next_step([first], NOW, NOW + timedelta(seconds=10))
    assert (step.number, step.due) == (2, True)


def test_the_last_attempt_is_final_even_when_worth_retrying():
    assert conclude(3, Outcome.RETRY, NOW, POLICY) == Attempt(3, "retry", True)


def test_delivered_and_rejected_end_the_delivery():
    assert conclude(1, Outcome.DELIVERED, NOW, POLICY).final
    assert conclude(1, Outcome.REJECTED, NOW, POLICY).final
    assert next_step([conclude(1, Outcome.DELIVERED, NOW, POLICY)], NOW, NOW).done


def test_the_newest_attempt_decides_whatever_the_read_order():
    attempts = [conclude(2, Outcome.DELIVERED, NOW, POLICY), conclude(1, Outcome.RETRY, NOW, POLICY)]

    assert next_step(attempts, NOW, NOW).done


def test_an_interrupted_attempt_counts_and_the_next_is_due_at_once():
    lost = interrupted(1, NOW, POLICY)

    assert (lost.outcome, lost.final) == (INTERRUPTED, False)
    assert next_step([lost], NOW, NOW).number == 2
    assert interrupted(3, NOW, POLICY).final


def test_consecutive_failures_count_back_to_the_last_delivery():
    assert consecutive_failures([]) == 0
    assert consecutive_failures(["rejected", "retry", "delivered", "rejected"]) == 2
    assert consecutive_failures(["delivered", "rejected"]) == 0
    assert consecutive_failures([INTERRUPTED, "retry"]) == 2
    assert CANCELLED == "cancelled"


@pytest.mark.parametrize(("outcome", "status", "error", "reason"), [
    ("delivered", 204, None, "accepted"),
    ("rejected", 404, None, "refused_by_receiver"),
    ("rejected", 401, None, "refused_by_receiver"),
    ("retry", 503, None, "receiver_error"),
    ("retry", 429, None, "asked_to_retry"),
    ("rejected", 302, None, "redirect_not_followed"),
    ("retry", None, "ConnectionError", "no_answer"),
    ("retry", None, "ReadTimeout", "no_answer"),
    ("rejected", None, TARGET_REFUSED, "target_not_allowed"),
    (INTERRUPTED, None, "lease expired", "interrupted"),
    (CANCELLED, None, "subscription disabled", "not_attempted"),
])
def test_the_delivery_log_says_what_an_attempt_came_to_in_our_words_only(outcome, status, error, reason):
    said = attempt_reason(outcome, status, error)
    assert said == reason
    assert str(status) not in said and (error is None or error == TARGET_REFUSED or error not in said)


def test_a_refused_target_is_final_not_retried():
    assert classify_http(None, TARGET_REFUSED) == Outcome.REJECTED
    assert classify_http(None, "ConnectionError") == Outcome.RETRY
