import pytest

from services.goals.domain.lifecycle import InvalidTransition, is_open, transition

STATUSES = ("active", "on_hold", "achieved", "abandoned")
# The table from services/goals/README.md, written out by hand.
ALLOWED = {
    ("active", "on_hold"), ("active", "achieved"), ("active", "abandoned"),
    ("on_hold", "active"), ("on_hold", "achieved"), ("on_hold", "abandoned"),
    ("achieved", "active"),
    ("abandoned", "active"),
}
REFUSED = [(a, b) for a in STATUSES for b in STATUSES if (a, b) not in ALLOWED]


@pytest.mark.parametrize("current, new", sorted(ALLOWED))
def test_allowed_changes_return_the_new_status(current, new):
    assert transition(current, new) == new


@pytest.mark.parametrize("current, new", REFUSED)
def test_other_changes_are_refused(current, new):
    with pytest.raises(InvalidTransition) as refused:
        transition(current, new)
    assert refused.value.current == current
    assert refused.value.new == new


def test_the_refusal_names_the_allowed_changes():
    with pytest.raises(InvalidTransition) as refused:
        transition("achieved", "on_hold")
    assert refused.value.allowed == ("active",)
    assert "from achieved it can go to: active" in str(refused.value)


def test_same_status_is_refused_as_already_there():
    with pytest.raises(InvalidTransition, match="already active"):
        transition("active", "active")


@pytest.mark.parametrize("current, new", [("active", "done"), ("paused", "active")])
def test_unknown_statuses_are_a_value_error_not_a_conflict(current, new):
    with pytest.raises(ValueError, match="unknown status"):
        transition(current, new)


def test_open_goals_are_active_or_on_hold():
    assert [status for status in STATUSES if is_open(status)] == ["active", "on_hold"]
