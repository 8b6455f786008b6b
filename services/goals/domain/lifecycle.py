"""Goal statuses and the changes allowed between them.

A goal starts `active`. It can be paused (`on_hold`), reached (`achieved`) or given up
(`abandoned`). Decisions:

- on_hold -> achieved is allowed: scores keep arriving from questionnaires while a goal is
  paused, and a client who reaches the target should not have to resume the goal first.
- achieved -> active is allowed (reopen): a client may slip back, or the goal was marked
  achieved too early; reopening keeps its history instead of making a copy.
- abandoned -> active is allowed (resume): a goal given up can be taken up again.
- achieved and abandoned cannot go to on_hold or to each other: reopen first, so every change
  of mind is an explicit step in the history.
- Changing to the current status is refused: nothing would change and no event should fire.
"""

STATUSES = ("active", "on_hold", "achieved", "abandoned")
INITIAL_STATUS = "active"
# Open goals are still being worked on: they can fall due and become overdue.
OPEN_STATUSES = frozenset({"active", "on_hold"})

ALLOWED = {
    "active": ("on_hold", "achieved", "abandoned"),
    "on_hold": ("active", "achieved", "abandoned"),
    "achieved": ("active",),
    "abandoned": ("active",),
}


class InvalidTransition(Exception):
    """A status change the lifecycle does not allow (the API answers 409).

    `current`, `new` and `allowed` (the statuses reachable from `current`) are kept for the
    problem detail.
    """

    def __init__(self, current: str, new: str) -> None:
        self.current, self.new, self.allowed = current, new, ALLOWED[current]
        if new == current:
            message = f"the goal is already {current}"
        else:
            message = f"a goal cannot go from {current} to {new}"
        super().__init__(f"{message}; from {current} it can go to: {', '.join(self.allowed)}")


def is_open(status: str) -> bool:
    """Whether a goal in `status` is still being worked on (active or on hold)."""
    return status in OPEN_STATUSES


def transition(current: str, new: str) -> str:
    """Check a status change and return the new status.

    Raises ValueError when either status is not one of STATUSES (a validation error, 422) and
    InvalidTransition when the change is not allowed (409), naming the allowed ones.
    """
    for status in (current, new):
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; statuses are: {', '.join(STATUSES)}")
    if new not in ALLOWED[current]:
        raise InvalidTransition(current, new)
    return new
