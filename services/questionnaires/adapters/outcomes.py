"""MongoDB storage of what clinic outcomes read: a summary of each client's series on each
instrument, and which therapists each client has.

A *series summary* (``series_summaries``) holds a client's baseline and latest score on one
instrument (ids, totals, times), the number of responses, and the baseline's month (``cohort``,
``YYYY-MM``). It is rewritten whole from the series after each response is stored: the writer
reads the series' latest response (and its baseline by id, when the latest does not carry the
baseline's time), replaces the summary, then reads the latest again and rewrites until they
agree. So when two responses of one series are stored at once, and the older summary lands last
(FerretDB v1 keeps one of two concurrent writes), the writer that wrote it sees the later
response and writes again: the summary ends as the series' latest. Its ``_id`` is derived from
tenant, client and instrument, so there is one per series.

A *therapist link* (``client_therapists``) says that a therapist has a client: one submitted a
response for them, or is responsible for an assignment of theirs (named on it, or the therapist
who made it). Each is a claim (``insert_once``, ``_id`` derived from tenant, client and
therapist), so concurrent writers cannot lose one.

Reads (docs/STORAGE.md): a clinic's summaries on one instrument ``{tenant, instrument}``, of one
cohort ``{tenant, instrument, cohort}``; a therapist's clients ``{tenant, therapist_id}``, then
each client's summary by ``_id``.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Iterable, Iterator

from pymongo.errors import DuplicateKeyError

from services.questionnaires.adapters.responses import ResponseStore
from services.questionnaires.config import CLIENT_THERAPISTS, SERIES_SUMMARIES
from services.questionnaires.domain import Instrument, Link, Reference, SeriesEnds
from shared.mongo import TenantRepository

_NAMESPACE = uuid.UUID("6f0c1a52-33b1-4d0e-9a55-0f3f5b9a7c21")
# Each rewrite follows a response stored meanwhile; more than this many in a row is a series
# being written faster than anyone answers questionnaires: the last writer will settle it.
MAX_REWRITES = 10


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def cohort_of(moment: datetime) -> str:
    """The month a baseline falls in (UTC), ``YYYY-MM``."""
    return f"{moment.year:04d}-{moment.month:02d}"


def ends_of(instrument: Instrument, summary: dict) -> SeriesEnds:
    """A stored summary as the domain classifies it."""
    baseline = Reference(summary["baseline_id"], summary["baseline_total"], summary["baseline_at"])
    latest = Reference(summary["latest_id"], summary["latest_total"], summary["latest_at"])
    return SeriesEnds(instrument, baseline, latest, summary["responses"])


class SeriesSummaries(TenantRepository):
    collection_name = SERIES_SUMMARIES

    def summary_id(self, client_id: str, instrument: str) -> str:
        return derived_id(self.scope.tenant, client_id, instrument)

    def refresh(self, responses: ResponseStore, client_id: str, instrument: str, stored: Link | None = None) -> None:
        """Rewrite the summary of the client's series on ``instrument`` from the series itself,
        until a re-read finds no later response (see the module's docstring). ``stored``: the
        series' link after a response just stored, written first without reading it back (it is
        the latest unless another was stored meanwhile, which the re-read finds)."""
        summary_id = self.summary_id(client_id, instrument)
        ends = stored if stored is not None and stored.baseline.completed_at is not None else None
        for _ in range(MAX_REWRITES):
            if ends is None:
                ends = responses.ends(client_id, instrument)
                if ends is None:  # erased meanwhile: the erasure deletes the summary
                    return
            latest, baseline = ends.latest, ends.baseline
            if baseline.completed_at is None:  # ends() reads it by id when a reference lacks it
                raise ValueError(f"the baseline {baseline.response_id} has no completion time")
            summary = {
                "_id": summary_id,
                "client_id": client_id,
                "instrument": instrument,
                "responses": ends.seq,
                "cohort": cohort_of(baseline.completed_at),
                "baseline_id": baseline.response_id,
                "baseline_total": baseline.total,
                "baseline_at": baseline.completed_at,
                "latest_id": latest.response_id,
                "latest_total": latest.total,
                "latest_at": latest.completed_at,
            }
            try:
                self.records.replace_one({"_id": summary_id}, summary, upsert=True)
            except DuplicateKeyError:  # another writer created it first: write it again
                continue
            found = responses.ends(client_id, instrument)
            if found is None or found == ends:
                return
            ends = found

    def of_instrument(self, instrument: str, cohort: str | None) -> Iterator[dict]:
        """The clinic's summaries on ``instrument`` (of one cohort when given)."""
        query = {"instrument": instrument, **({"cohort": cohort} if cohort else {})}
        return iter(self.records.find(query))

    def of_clients(self, client_ids: Iterable[str], instrument: str, cohort: str | None) -> Iterator[dict]:
        """The summaries of these clients on ``instrument`` (of one cohort when given), by id."""
        for client_id in sorted(client_ids):
            found = self.records.find_by_id(self.summary_id(client_id, instrument))
            if found is not None and (cohort is None or found["cohort"] == cohort):
                yield found


class TherapistLinks(TenantRepository):
    collection_name = CLIENT_THERAPISTS

    def link(self, client_id: str, therapist_id: str, since: datetime) -> bool:
        """Note once that ``therapist_id`` has ``client_id``; True when this call noted it."""
        return self.records.insert_once({
            "_id": derived_id(self.scope.tenant, client_id, therapist_id),
            "client_id": client_id,
            "therapist_id": therapist_id,
            "since": since,
        })

    def clients_of(self, therapist_id: str) -> set[str]:
        found = self.records.find({"therapist_id": therapist_id}, projection={"client_id": 1})
        return {link["client_id"] for link in found}
