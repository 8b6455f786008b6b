"""The questionnaires service's pure rules: instruments, scoring, change and schedules.

No I/O apart from reading the shipped instrument files, and no clock: callers pass ``now``.
The API, adapters and worker use these names:

- :func:`load_builtin_instruments`, :func:`parse_instrument`, :class:`Instrument`,
  :class:`InstrumentError` (``instruments``)
- :func:`score`, :class:`Score`, :class:`AnswerError` (``scoring``)
- :func:`assess_change`, :class:`Change`, :func:`recovery`, :class:`Measure`,
  :class:`Recovery` (``change``)
- :class:`Schedule`, :class:`Occurrence`, :func:`occurrence_at`, :func:`occurrences`,
  :func:`reminders`, :func:`status` (``schedule``)
"""
from .change import Change, Measure, Recovery, assess_change, recovery
from .instruments import (
    InstrumentDefinitionError,
    InstrumentError,
    load_builtin_instruments,
    parse_instrument,
)
from .model import Instrument
from .schedule import Occurrence, Schedule, occurrence_at, occurrences, reminders, status
from .scoring import AnswerError, Score, score

__all__ = [
    "AnswerError",
    "Change",
    "Instrument",
    "InstrumentDefinitionError",
    "InstrumentError",
    "Measure",
    "Occurrence",
    "Recovery",
    "Schedule",
    "Score",
    "assess_change",
    "load_builtin_instruments",
    "occurrence_at",
    "occurrences",
    "parse_instrument",
    "recovery",
    "reminders",
    "score",
    "status",
]
