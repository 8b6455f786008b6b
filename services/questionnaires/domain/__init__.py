"""The questionnaires service's pure rules: instruments, scoring, change and schedules.

No I/O apart from reading the shipped instrument files, and no clock: callers pass ``now``.
The API, adapters and worker use these names:

- :func:`load_builtin_instruments`, :func:`parse_instrument`, :class:`Instrument`,
  :class:`InstrumentError` (``instruments``)
- :func:`score`, :class:`Score`, :class:`AnswerError` (``scoring``)
- :func:`assess_change`, :class:`Change`, :func:`recovery`, :class:`Measure`,
  :class:`Recovery` (``change``)
- :class:`Schedule`, :class:`Occurrence`, :func:`occurrence_at`, :func:`next_to_remind`,
  :func:`due_dates`, :func:`status` (``schedule``)
- :class:`Link`, :class:`Placement`, :class:`Reference`, :func:`place` (``history``)
- :class:`SeriesEntry`, :class:`SeriesEnds`, :func:`series_ends`, :func:`has_recovery_rules`,
  :func:`recovery_so_far` (``outcomes``)
"""
from .change import Change, Measure, Recovery, assess_change, recovery
from .history import Link, Placement, Reference, place
from .instruments import (
    InstrumentDefinitionError,
    InstrumentError,
    load_builtin_instruments,
    parse_instrument,
)
from .model import Instrument
from .outcomes import SeriesEnds, SeriesEntry, has_recovery_rules, recovery_so_far, series_ends
from .schedule import Occurrence, Schedule, due_dates, next_to_remind, occurrence_at, status
from .scoring import AnswerError, Score, score

__all__ = [
    "AnswerError",
    "Change",
    "Instrument",
    "InstrumentDefinitionError",
    "InstrumentError",
    "Link",
    "Measure",
    "Occurrence",
    "Placement",
    "Recovery",
    "Reference",
    "Schedule",
    "Score",
    "SeriesEnds",
    "SeriesEntry",
    "assess_change",
    "due_dates",
    "has_recovery_rules",
    "load_builtin_instruments",
    "next_to_remind",
    "occurrence_at",
    "parse_instrument",
    "place",
    "recovery",
    "recovery_so_far",
    "score",
    "series_ends",
    "status",
]
