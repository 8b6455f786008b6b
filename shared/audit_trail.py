"""The clients whose records the current request has read or changed, for the access audit.

``shared.audit`` starts a trail when a request reaches a route that reads or changes a client's
records, and writes one audit record per client noted here before the response leaves. Clients
are noted where no route can forget them: every record that passes through
``shared.mongo.ScopedCollection`` (read or written) and every client a request names
(``shared.auth.check_client_access``, a ``client_id`` in the path).

This module holds only the trail, in a context variable (one per request, also under gunicorn's
threads), because ``shared.mongo`` notes into it while ``shared.audit`` stores through
``shared.mongo``. Outside an audited request, noting does nothing (workers, other routes).
"""
from __future__ import annotations

import contextvars
from typing import Any, Iterable, Iterator, Mapping, TypeVar

_clients: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("audited_clients", default=None)


def start() -> contextvars.Token[set[str] | None]:
    """Begin noting for this request; hand the token to ``stop``."""
    return _clients.set(set())


def stop(token: contextvars.Token[set[str] | None]) -> None:
    _clients.reset(token)


def note(client_id: Any) -> None:
    """Note that the current request touches ``client_id``'s records (if a trail is open)."""
    clients = _clients.get()
    if clients is not None and isinstance(client_id, str) and client_id:
        clients.add(client_id)


_Record = TypeVar("_Record", bound=Mapping[str, Any])


def note_records(records: Iterable[_Record]) -> Iterator[_Record]:
    """``records`` unchanged, noting the client of each (its ``client_id``) as it passes."""
    for record in records:
        note(record.get("client_id"))
        yield record


def noted() -> list[str]:
    """The clients noted so far in this request, in a stable order."""
    return sorted(_clients.get() or ())
