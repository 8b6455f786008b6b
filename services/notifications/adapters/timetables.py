"""The service's timetables (``shared.timetable``): due email deliveries, due webhook
deliveries, and alerts to look at for escalation.

Each channel has its own timetable, read by its own job, so a backlog of webhook deliveries
never delays a risk alert's email.
"""
from __future__ import annotations

from datetime import timedelta

from services.notifications import config
from shared.mongo import Database
from shared.timetable import Timetable

# A timetable's first round (no cursor yet) looks back this far. Entries are put only by this
# service's consumers and routes, which start with its jobs, and work already due is put in the
# current window (``Timetable.put``), so an hour is ample; a day would cost 1,440 lookups.
FIRST_LOOK_BACK = timedelta(hours=1)


def _timetable(database: Database, name: str) -> Timetable:
    return Timetable(database, name, first_look_back=FIRST_LOOK_BACK)


def deliveries(database: Database, kind: str) -> Timetable:
    """The timetable of a channel's deliveries (``email`` or ``webhook``)."""
    return _timetable(database, config.DELIVERY_TIMETABLES[kind])


def escalations(database: Database) -> Timetable:
    return _timetable(database, config.ESCALATION_TIMETABLE)
