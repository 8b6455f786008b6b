"""Reading the CloudEvents envelope the other services publish.

The contract names events by routing key (``goal.achieved``); the CloudEvents ``type`` wraps it as
``stepwise.<routing key>.v<version>`` so that a consumer can tell a changed payload apart from the
one its rules were written for.
"""

import re
from typing import Any

_TYPE = re.compile(r"^stepwise\.(?P<key>[a-z0-9_]+(?:\.[a-z0-9_]+)*)\.v(?P<version>[0-9]+)$")


class MalformedEvent(ValueError):
    """The event lacks something the contract promises.

    Retrying cannot fix it, so the worker should dead-letter the message instead of requeueing it.
    """


def parse_type(event_type: str) -> tuple[str, int] | None:
    """``"stepwise.goal.achieved.v1"`` -> ``("goal.achieved", 1)``; ``None`` for foreign types."""
    found = _TYPE.match(event_type or "")
    if found is None:
        return None
    return found["key"], int(found["version"])


def routing_key(event: dict[str, Any]) -> str | None:
    """The routing key of a Stepwise event, whatever its version; ``None`` for anything else."""
    parsed = parse_type(event.get("type", ""))
    return parsed[0] if parsed else None


def required(mapping: dict[str, Any], field: str, where: str) -> Any:
    """``mapping[field]`` when it is present and not empty, else ``MalformedEvent`` naming it."""
    value = mapping.get(field) if isinstance(mapping, dict) else None
    if value in (None, ""):
        raise MalformedEvent(f"{where} has no {field!r}")
    return value
