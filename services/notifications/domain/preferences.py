"""A person's notification preferences: channels, email address, quiet hours.

Wire shape (``PUT /v1/preferences/{user_id}``)::

    {"channels": {"inbox": true, "email": false},
     "email": "sam@example.org",
     "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/London"}}

Webhooks are not a personal channel: they are a tenant's subscriptions to events (see
``signing``), so they do not appear here.

Quiet hours hold back what interrupts a person (email); the inbox is only seen when opened, so
the worker may store inbox items at once. Urgent notifications (risk alerts) ignore quiet hours
and always reach the inbox: a person cannot switch off being told about risk.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.notifications.domain.channels import EMAIL, INBOX, PERSONAL_CHANNELS
from services.notifications.domain.rules import URGENT

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
# Deliberately loose: the real check of an address is the mail that reaches it.
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidPreferences(ValueError):
    """``errors`` maps each bad field (dotted, e.g. ``quiet_hours.timezone``) to its messages,
    the shape of the ``errors`` member of a 422 problem response."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class QuietHours:
    """A daily window of local wall-clock time, ``start`` inclusive, ``end`` exclusive.

    ``end`` earlier than ``start`` means the window crosses midnight (22:00 to 07:00).
    """

    start: time
    end: time
    timezone: ZoneInfo


@dataclass(frozen=True)
class Preferences:
    channels: dict[str, bool] = field(default_factory=lambda: {INBOX: True, EMAIL: True})
    email: str | None = None
    quiet_hours: QuietHours | None = None


def _clock(value: Any, name: str, errors: dict[str, list[str]]) -> time | None:
    found = _CLOCK.match(value) if isinstance(value, str) else None
    if found is None:
        errors.setdefault(name, []).append('must be a 24-hour time "HH:MM"')
        return None
    return time(int(found[1]), int(found[2]))


def _zone(value: Any, name: str, errors: dict[str, list[str]]) -> ZoneInfo | None:
    try:
        if not isinstance(value, str) or not value:
            raise ValueError
        return ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError):
        errors.setdefault(name, []).append("must be an IANA time zone name, e.g. Europe/London")
        return None


def _quiet_hours(raw: Any, errors: dict[str, list[str]]) -> QuietHours | None:
    if not isinstance(raw, dict):
        errors.setdefault("quiet_hours", []).append("must be an object with start, end, timezone")
        return None
    start = _clock(raw.get("start"), "quiet_hours.start", errors)
    end = _clock(raw.get("end"), "quiet_hours.end", errors)
    zone = _zone(raw.get("timezone"), "quiet_hours.timezone", errors)
    if start is not None and start == end:
        errors.setdefault("quiet_hours.end", []).append("must differ from start")
    if start is None or end is None or zone is None or start == end:
        return None
    return QuietHours(start, end, zone)


def parse_quiet_hours(raw: Any) -> QuietHours:
    """``{"start": "22:00", "end": "07:00", "timezone": "Europe/London"}`` -> ``QuietHours``.

    Raises ``InvalidPreferences`` naming each bad field.
    """
    errors: dict[str, list[str]] = {}
    quiet = _quiet_hours(raw, errors)
    if errors or quiet is None:  # _quiet_hours gives None only with errors
        raise InvalidPreferences(errors)
    return quiet


def parse_preferences(raw: dict[str, Any]) -> Preferences:
    """The wire shape (module docstring) -> ``Preferences``; absent fields take the defaults
    (inbox and email on, no address, no quiet hours). ``quiet_hours: null`` clears them.

    Raises ``InvalidPreferences`` naming every bad field at once.
    """
    errors: dict[str, list[str]] = {}
    channels = dict(Preferences().channels)
    requested = raw.get("channels") or {}
    if not isinstance(requested, dict):
        errors.setdefault("channels", []).append("must be an object of channel: true or false")
        requested = {}
    for name, on in requested.items():
        if name not in PERSONAL_CHANNELS:
            errors.setdefault(f"channels.{name}", []).append(
                f"unknown channel; choose from {', '.join(PERSONAL_CHANNELS)}"
            )
        elif not isinstance(on, bool):
            errors.setdefault(f"channels.{name}", []).append("must be true or false")
        else:
            channels[name] = on

    email = raw.get("email")
    if email is not None and not (isinstance(email, str) and _ADDRESS.match(email)):
        errors.setdefault("email", []).append("must be an email address")
    elif email is None and requested.get(EMAIL) is True:
        errors.setdefault("email", []).append("is required when the email channel is on")

    quiet = None if raw.get("quiet_hours") is None else _quiet_hours(raw["quiet_hours"], errors)
    if errors:
        raise InvalidPreferences(errors)
    return Preferences(channels=channels, email=email, quiet_hours=quiet)


def as_dict(prefs: Preferences) -> dict[str, Any]:
    """``Preferences`` back to the wire shape, for storing and for answering requests.

    The email channel reads as on only when there is an address to send to: that is what will
    happen, and it lets a caller send back what it read (email on without an address is refused).
    """
    quiet = prefs.quiet_hours
    return {
        "channels": {**prefs.channels, EMAIL: prefs.channels[EMAIL] and prefs.email is not None},
        "email": prefs.email,
        "quiet_hours": None
        if quiet is None
        else {
            "start": quiet.start.strftime("%H:%M"),
            "end": quiet.end.strftime("%H:%M"),
            "timezone": quiet.timezone.key,
        },
    }


def channels_for(prefs: Preferences, priority: str) -> list[str]:
    """The personal channels to use: those switched on, email only with an address, and the
    inbox always for urgent notifications."""
    chosen = []
    if prefs.channels.get(INBOX, True) or priority == URGENT:
        chosen.append(INBOX)
    if prefs.channels.get(EMAIL, True) and prefs.email:
        chosen.append(EMAIL)
    return chosen


def _inside(clock: time, quiet: QuietHours) -> bool:
    if quiet.start < quiet.end:
        return quiet.start <= clock < quiet.end
    return clock >= quiet.start or clock < quiet.end


def quiet_hours_end(now: datetime, quiet: QuietHours) -> datetime | None:
    """The UTC instant the quiet hours around ``now`` end, or ``None`` when ``now`` is outside.

    Wall-clock times are resolved in the zone on the day itself, so a DST change shifts the UTC
    instant. An end time the clocks skip (spring forward) resolves to the same wall time in the
    pre-change offset, i.e. later than the skipped hour, never earlier: the quiet side. An end time
    that occurs twice (fall back) means its first occurrence, and the repeated hour does not
    reopen a window that has already ended.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(quiet.timezone)
    clock = local.time()
    if not _inside(clock, quiet):
        return None
    end_day = local.date() if clock < quiet.end else local.date() + timedelta(days=1)
    end = datetime.combine(end_day, quiet.end, tzinfo=quiet.timezone).astimezone(timezone.utc)
    return end if end > now else None


def deliver_at(now: datetime, prefs: Preferences | None, priority: str) -> datetime:
    """When a notification of ``priority`` may be delivered to a person with ``prefs``.

    ``now`` (timezone-aware) in UTC when it may go at once: no preferences, no quiet hours,
    outside them, or urgent (risk alerts ignore quiet hours). Otherwise the UTC instant the quiet
    hours end.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(timezone.utc)
    if priority == URGENT or prefs is None or prefs.quiet_hours is None:
        return now
    return quiet_hours_end(now, prefs.quiet_hours) or now
