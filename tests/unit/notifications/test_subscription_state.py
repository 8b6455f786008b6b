from datetime import datetime, timedelta, timezone

from services.notifications.domain.subscription_state import DISABLED, ENABLED, State, StatusChange, change_id, fold

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)


def test_a_new_subscription_is_enabled():
    assert fold([]) == State(ENABLED, 0)


def test_disabled_in_the_current_generation():
    state = fold([StatusChange(DISABLED, 0, T0)])

    assert (state.status, state.generation, state.disabled_at) == (DISABLED, 0, T0)


def test_re_enabling_opens_the_next_generation_and_counts_from_then():
    later = T0 + timedelta(hours=1)

    state = fold([StatusChange(DISABLED, 0, T0), StatusChange(ENABLED, 1, later)])

    assert (state.status, state.generation, state.since) == (ENABLED, 1, later)


def test_a_disable_of_an_old_generation_does_not_count():
    state = fold([StatusChange(ENABLED, 1, T0), StatusChange(DISABLED, 0, T0 - timedelta(minutes=1))])

    assert state.status == ENABLED


def test_disabled_again_after_re_enabling():
    state = fold([StatusChange(DISABLED, 0, T0), StatusChange(ENABLED, 1, T0), StatusChange(DISABLED, 1, T0 + timedelta(days=1))])

    assert (state.status, state.generation) == (DISABLED, 1)


def test_change_ids_make_each_change_once_per_generation():
    assert change_id("s-1", DISABLED, 0) == change_id("s-1", DISABLED, 0) != change_id("s-1", DISABLED, 1)
