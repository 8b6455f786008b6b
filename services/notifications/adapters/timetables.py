"""The service's timetables (``shared.timetable``): due email deliveries, due webhook
deliveries, and alerts to look at for escalation.

Each channel has its own timetable, read by its own job, so a backlog of webhook deliveries
never delays a risk alert's email.
"""
from __future__ import annotations

from services.notifications import config
from shared.mongo import Database
from shared.timetable import Timetable



def deliveries(database: Database, kind: str) -> Timetable:
    """The timetable of a channel's deliveries (``email`` or ``webhook``)."""
    return Timetable(database, config.DELIVERY_TIMETABLES[kind])


def escalations(database: Database) -> Timetable:
    return Timetable(database, config.ESCALATION_TIMETABLE)
