"""Stepwise at scale: six requests over HTTP with 1,000,000 responses and 100,000 goals stored,
against the same requests on an empty database, in the same run.

    python bench/scale.py [--responses 1000000] [--goals 100000] [--tenants 50] [--samples 200] [--keep]

Two sets of the three services' databases on one server (MONGO_URL, default the local server of
scripts/servers): ``bench_<run>_empty_<service>`` and ``bench_<run>_full_<service>``. Both hold
the measured clients (the first client of each of the first ten clinics: their responses, their
goals with progress, their therapists' inboxes); the full set also holds everyone else's:
``--responses`` responses and ``--goals`` goals in all (five per client, each with four progress
entries), across ``--tenants`` clinics, 25 clients per therapist.

Each client answers PHQ-9 and GAD-7 in turn over the past 200 days (PHQ-9 item 9 always 0: no
risk flags); one client in five gets worse, so their therapists' inboxes fill with the
deterioration notes the service sends. Every document is built by the services' own code:
scoring, the place in the series and the change (``Questionnaires.new_response`` and
``placed_response``), the goal checked and SMART-assessed (``Goals.new_goal``,
``creation_record``), progress entries with their events (``Goals.progress_entry``), the
current-goal documents (``GoalStore.current_document``), the notifications of the intents the
responses' events call for (``intents_for``, ``notification_of``). Each is stamped for its lists as
the stores stamp it and carries its events as stored (``shared.journal.journalled``); the
events count as published, so nothing is journalled. Batches go in with ``insert_many``. The
seeding rate is printed, with the rate of the first and of the last tenth of the responses
(target: within 20 %).

Then the six APIs (three services, two sets) run under gunicorn, two processes each, and six
requests are timed, ``--samples`` times each on each set, the two sets taking turns request by
request so that both see the same load on this shared machine: submit a PHQ-9, read a client's
trajectory, read a goal, list a client's goals, log progress, read an inbox (the measured
client's therapist's). Prints p50 and p95 per request and set, and the ratio of the p95s.
Targets (issue 8): p95 < 50 ms on the full set, and within 2x of the empty set's.

Last, documents the APIs stored while timed (a response, a progress entry, a goal created over
HTTP and its current-goal document) are compared field by field with seeded ones: a seeded
document of another shape fails the run. The databases are dropped unless ``--keep``.
"""
from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import queue
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pymongo
import requests

from bench.support import percentile, start_api, stop
from services.goals import config as goals_config
from services.goals.actions import Goals
from services.goals.adapters.store import CREATED, ENTRY, GoalHistory, GoalStore
from services.goals.api.schemas import GoalCreateSchema
from services.notifications import config as notifications_config
from services.notifications.adapters.notifications import Notifications
from services.notifications.domain.preferences import Preferences, channels_for
from services.notifications.domain.rules import intents_for
from services.notifications.actions import notification_of
from services.questionnaires import config as questionnaires_config
from services.questionnaires.actions import Questionnaires
from services.questionnaires.adapters.responses import link_of
from services.questionnaires.domain import Link, load_builtin_instruments
from shared.auth import Principal
from shared.auth.devtoken import mint
from shared.config import DEFAULT_AMQP_URL, DEFAULT_MONGO_URL
from shared.events.outbox import outbox_indexes
from shared.instrument_ranges import score_ranges
from shared.journal import journalled
from shared.logs import correlation_id, new_correlation_id
from shared.mongo import Database, Scope

SERVICES = {"questionnaires": questionnaires_config, "goals": goals_config, "notifications": notifications_config}
INSTRUMENTS = ("phq9", "gad7")
GOALS_PER_CLIENT = 5
ENTRIES_PER_GOAL = 4
CLIENTS_PER_THERAPIST = 25
MEASURED_CLIENTS = 10
HISTORY_DAYS = 200
BATCH = 1000
# Questionnaires keep their answers' grace; the bench assigns nothing, so any value serves.
GRACE = timedelta(hours=48)


@dataclass(frozen=True)
class Client:
    number: int
    id: str
    tenant: str
    therapist: str
    responses: int
    goals: int
    worsens: bool

    @property
    def scope(self) -> Scope:
        return Scope(self.tenant)


def population(responses: int, goals: int, tenants: int) -> list[Client]:
    """Clients numbered so that the first ``tenants`` are the first of each clinic, with
    ``responses`` and ``goals`` shared out as evenly as they go."""
    count = max(tenants, MEASURED_CLIENTS, goals // GOALS_PER_CLIENT)
    clients = []
    for n in range(count):
        tenant, rank = n % tenants, n // tenants
        clients.append(Client(
            number=n, id=f"client-{n}", tenant=f"clinic-{tenant:02d}",
            therapist=f"therapist-{tenant:02d}-{rank // CLIENTS_PER_THERAPIST}",
            responses=responses // count + (n < responses % count), goals=goals // count + (n < goals % count),
            worsens=rank % 5 == 0,
        ))
    return clients


@dataclass
class Databases:
    """One set of the three services' databases, with the services' indexes (the workers' too)."""

    url: str
    prefix: str
    by_service: dict[str, Database] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for service, config in SERVICES.items():
            outbox = outbox_indexes(getattr(config, "OUTBOX_COLLECTIONS", ()))
            database = Database(self.url, f"{self.prefix}_{service}", (*config.INDEXES, *outbox))
            database.ensure_indexes()
            self.by_service[service] = database

    def __getitem__(self, service: str) -> Database:
        return self.by_service[service]


class Batches:
    """Documents gathered per collection and inserted ``BATCH`` at a time."""

    def __init__(self) -> None:
        self.waiting: dict[tuple[Database, str], list[dict]] = {}
        self.inserted = 0

    def add(self, database: Database, collection: str, document: dict) -> None:
        batch = self.waiting.setdefault((database, collection), [])
        batch.append(document)
        if len(batch) >= BATCH:
            self.flush(database, collection)

    def flush(self, database: Database, collection: str) -> None:
        batch = self.waiting.pop((database, collection), [])
        if batch:
            database[collection].insert_many(batch, ordered=False)
            self.inserted += len(batch)

    def flush_all(self) -> None:
        for database, collection in list(self.waiting):
            self.flush(database, collection)


def stored(scope: Scope, document: dict) -> dict:
    """``document`` as ``ScopedCollection.insert_one`` stores it, stamped with its tenant (its
    events count as published: nothing is journalled)."""
    return journalled({**document, "tenant": scope.tenant})


def as_created(document: dict, new_id: str) -> dict:
    """``document`` as ``shared.idempotency.create_once`` stores a record created without an
    Idempotency-Key."""
    return {**document, "_id": new_id, "idempotency": None}


def answers(rng: random.Random, client: Client, instrument: str, k: int, count: int) -> list[int]:
    """A client's answers at their ``k``-th of ``count`` responses: most improve, some worsen."""
    items = len(load_builtin_instruments()[instrument].items)
    progress = k / max(1, count - 1)
    level = 1.4 + 1.2 * progress if client.worsens else 2.2 - 1.6 * progress
    values = [max(0, min(3, round(level + rng.uniform(-0.8, 0.8)))) for _ in range(items)]
    if instrument == "phq9":
        values[8] = 0  # item 9 (thoughts of self-harm): no risk alerts in the seeded history
    return values


def seed_responses(databases: Databases, clients: list[Client], start: datetime, batches: Batches,
                   stored_count: Any) -> dict[str, int]:
    """Each client's responses, round by round so that every clinic's history grows together; each
    deteriorated one's notifications with them. Returns how many of each were stored."""
    instruments = load_builtin_instruments()
    questionnaires, notifications = databases["questionnaires"], databases["notifications"]
    latest: dict[tuple[str, str], Link] = {}
    counts = {"responses": 0, "notifications": 0}
    step = timedelta(days=HISTORY_DAYS) / max(1, max(client.responses for client in clients))
    for k in range(max(client.responses for client in clients)):
        for client in clients:
            if k >= client.responses:
                continue
            rng = random.Random(client.number * 100_003 + k)
            correlation_id.set(new_correlation_id())  # as the request that submitted it had
            code = INSTRUMENTS[k % len(INSTRUMENTS)]
            at = start + step * k + timedelta(minutes=client.number % 1440)
            caller = Questionnaires(questionnaires, Principal(client.therapist, client.tenant, "therapist"), at, GRACE)
            record, _ = caller.new_response(instruments[code], {
                "client_id": client.id, "instrument": code, "completed_at": at,
                "answers": answers(rng, client, code, k // len(INSTRUMENTS), client.responses // len(INSTRUMENTS)),
            })
            response_id = str(uuid.uuid4())
            response = caller.placed_response(instruments[code], record, latest.get((client.id, code)), False, response_id)
            response = stored(client.scope, as_created(caller.responses.listed(response), response_id))
            latest[(client.id, code)] = link_of(response)
            batches.add(questionnaires, questionnaires_config.RESPONSES, response)
            counts["responses"] += 1
            if counts["responses"] % BATCH == 0:  # in the database once the batch is
                with stored_count.get_lock():
                    stored_count.value += BATCH
            inbox = Notifications(notifications, client.scope)
            for event in response["outbox"]["events"]:
                for intent in intents_for(event, [], [], frozenset()):
                    notification = notification_of(intent, channels_for(Preferences(), intent.priority), at, None)
                    batches.add(notifications, notifications_config.NOTIFICATIONS, inbox.listed(notification))
                    counts["notifications"] += 1
    batches.flush_all()
    with stored_count.get_lock():
        stored_count.value += counts["responses"] % BATCH
    return counts


def goal_payload(client: Client, n: int, created: date) -> dict:
    """The body of a POST /v1/goals: a PHQ-9 goal first, then walking goals."""
    common = {"client_id": client.id, "start_date": created.isoformat(),
              "target_date": (created + timedelta(weeks=12)).isoformat()}
    if n == 0:
        return {**common, "title": "Bring my PHQ-9 score below 10 by walking daily", "category": "emotional_wellbeing",
                "description": "Walk 20 minutes after lunch every day",
                "measure": {"kind": "instrument", "instrument": "phq9", "baseline": 16, "target": 9,
                            "direction": "decrease"}}
    return {**common, "title": f"Walk for 20 minutes after lunch, {n} days a week", "category": "behavioral",
            "measure": {"kind": "count", "unit": "walks", "baseline": 0, "target": 10, "per": "week"}}


def progress_values(n: int) -> list[float]:
    """Entries that move towards the target without reaching it (no milestone, no achievement)."""
    return [15.0, 14.0, 13.0, 12.0] if n == 0 else [2.0, 3.0, 4.0, 5.0]


def seed_goals(databases: Databases, clients: list[Client], start: datetime, batches: Batches) -> dict[str, list[str]]:
    """Each client's goals with their progress; returns the goal ids by client id."""
    database = databases["goals"]
    schema, ranges = GoalCreateSchema(), score_ranges()
    ids: dict[str, list[str]] = {}
    for client in clients:
        store = GoalStore(database, client.scope)
        for n in range(client.goals):
            created = start + timedelta(days=(client.number * 7 + n * 11) % (HISTORY_DAYS - 30), minutes=n)
            draft = {**schema.load(goal_payload(client, n, created.date())), "therapist_id": client.therapist}
            by_therapist = Goals(store, now=created, by=client.therapist, due_soon_days=7, ranges=ranges)
            goal_id = str(uuid.uuid4())
            correlation_id.set(new_correlation_id())
            creation = by_therapist.creation_record(by_therapist.new_goal(draft), goal_id)
            records = [stored(client.scope, as_created({**creation, "goal_id": goal_id, "record": CREATED}, goal_id))]
            for i, value in enumerate(progress_values(n)):
                at = created + timedelta(days=7 * (i + 1))
                correlation_id.set(new_correlation_id())
                by_client = Goals(store, now=at, by=client.id, due_soon_days=7, ranges=ranges)
                history = GoalHistory.of(records)
                assert history is not None  # the creation record at least
                entry = by_client.progress_entry(history, value, at, None, "client")
                records.append(stored(client.scope, as_created({**entry, "record": ENTRY}, str(uuid.uuid4()))))
            for record in records:
                batches.add(database, goals_config.HISTORY, record)
            history = GoalHistory.of(records)
            assert history is not None  # the creation record at least
            batches.add(database, goals_config.CURRENT, store.current_document(history.current()))
            ids.setdefault(client.id, []).append(goal_id)
    batches.flush_all()
    return ids


@dataclass
class Seeded:
    goal_ids: dict[str, list[str]]
    counts: dict[str, int]
    seconds: float
    tenths: tuple[float, float]  # responses/s over the first and the last tenth of the responses


def seed_share(url: str, prefix: str, clients: list[Client], start: datetime, stored_count: Any, ready: Any,
               responses_done: Any, results: Any) -> None:
    """One seeding process: its clients' responses, then (once every process has stored its
    responses, so that the responses' rate is theirs alone) their goals."""
    databases = Databases(url, prefix)
    batches = Batches()
    ready.wait()
    counts = seed_responses(databases, clients, start, batches, stored_count)
    responses_done.wait()
    goal_ids = seed_goals(databases, clients, start, batches)
    results.put((goal_ids, {**counts, "goals": sum(len(ids) for ids in goal_ids.values()), "documents": batches.inserted}))


def seed(url: str, prefix: str, clients: list[Client], start: datetime, processes: int,
         log: Callable[[str], None]) -> Seeded:
    """Seeds ``clients`` with ``processes`` processes, each taking whole clinics, and logs the
    responses stored as it goes."""
    tenants = sorted({client.tenant for client in clients})
    shares = [[c for c in clients if tenants.index(c.tenant) % processes == p] for p in range(processes)]
    shares = [share for share in shares if share]
    stored_count = multiprocessing.Value("q", 0)
    results: multiprocessing.Queue[tuple[Any, ...]] = multiprocessing.Queue()
    ready, responses_done = multiprocessing.Barrier(len(shares) + 1), multiprocessing.Barrier(len(shares))
    total = sum(client.responses for client in clients)
    workers = [multiprocessing.Process(target=seed_share, args=(url, prefix, share, start, stored_count, ready,
                                                                responses_done, results)) for share in shares]
    for worker in workers:
        worker.start()
    ready.wait()  # each process connected, with the indexes ensured
    began = time.perf_counter()
    marks: list[tuple[int, float]] = [(0, began)]
    while marks[-1][0] < total:
        if not any(worker.is_alive() for worker in workers):
            raise SystemExit("a seeding process ended before its responses were stored")
        time.sleep(0.5)
        marks.append((stored_count.value, time.perf_counter()))
        if marks[-1][0] * 20 // total > marks[-2][0] * 20 // total:  # every 5 %
            done, now = marks[-1]
            log(f"  {done:>9,} responses in {now - began:6.0f} s, {done / (now - began):6.0f}/s")
    log(f"  responses stored in {marks[-1][1] - began:.0f} s; goals next")
    found: list[Any] = []
    while len(found) < len(workers):
        try:
            found.append(results.get(timeout=5))
        except queue.Empty:
            if sum(worker.exitcode == 0 for worker in workers) < len(workers) - sum(worker.is_alive() for worker in workers):
                raise SystemExit("a seeding process failed (its error is above)") from None
    for worker in workers:
        worker.join()
    goal_ids = {client_id: ids for share_ids, _ in found for client_id, ids in share_ids.items()}
    counts = {name: sum(share_counts[name] for _, share_counts in found) for name in found[0][1]}
    log(f"  {counts['goals']:,} goals stored in {time.perf_counter() - marks[-1][1]:.0f} s")
    return Seeded(goal_ids, counts, time.perf_counter() - began, tenth_rates(marks, total))


def tenth_rates(marks: list[tuple[int, float]], total: int) -> tuple[float, float]:
    """Responses/s over the first tenth and the last tenth, from (responses done, time) marks."""
    def at(done: float) -> float:  # the time ``done`` responses were stored, interpolated
        for (n0, t0), (n1, t1) in itertools.pairwise(marks):
            if n0 <= done <= n1:
                return t0 + (t1 - t0) * (done - n0) / max(1, n1 - n0)
        return marks[-1][1]

    tenth = total / 10
    return tenth / max(1e-9, at(tenth) - at(0)), tenth / max(1e-9, at(total) - at(total - tenth))


# -- timing ---------------------------------------------------------------------------------


@dataclass
class Stack:
    """One set's three APIs, and how the measured clients are reached through them."""

    urls: dict[str, str]
    goal_ids: dict[str, list[str]]
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.trust_env = False  # loopback only: no proxy from the environment


def requests_to_time(secret: str, clients: list[Client]) -> dict[str, Callable[[Stack, int], requests.Response]]:
    def headers(client: Client) -> dict:
        token = mint(secret, sub=client.therapist, tenant=client.tenant, role="therapist", ttl_seconds=4 * 3600)
        return {"Authorization": f"Bearer {token}"}

    signed = {client.id: headers(client) for client in clients}

    def measured(i: int) -> tuple[Client, dict]:
        client = clients[i % len(clients)]
        return client, signed[client.id]

    def submit(stack: Stack, i: int):
        client, auth = measured(i)
        body = {"client_id": client.id, "instrument": "phq9", "answers": [1, 2, 1, 1, 0, 1, 2, 1, 0]}
        return stack.session.post(f"{stack.urls['questionnaires']}/v1/responses", json=body, headers=auth)

    def trajectory(stack: Stack, i: int):
        client, auth = measured(i)
        return stack.session.get(f"{stack.urls['questionnaires']}/v1/clients/{client.id}/scores", headers=auth)

    def goal(stack: Stack, i: int):
        client, auth = measured(i)
        return stack.session.get(f"{stack.urls['goals']}/v1/goals/{stack.goal_ids[client.id][0]}", headers=auth)

    def goals_of_client(stack: Stack, i: int):
        client, auth = measured(i)
        return stack.session.get(f"{stack.urls['goals']}/v1/goals", params={"client_id": client.id}, headers=auth)

    def log_progress(stack: Stack, i: int):
        client, auth = measured(i)
        return stack.session.post(f"{stack.urls['goals']}/v1/goals/{stack.goal_ids[client.id][0]}/progress",
                                  json={"value": 12 + i % 3}, headers=auth)

    def inbox(stack: Stack, i: int):
        _, auth = measured(i)
        return stack.session.get(f"{stack.urls['notifications']}/v1/notifications", headers=auth)

    return {
        "submit a PHQ-9": submit,
        "read a client's trajectory": trajectory,
        "read a goal": goal,
        "list a client's goals": goals_of_client,
        "log progress": log_progress,
        "read an inbox": inbox,
    }


def timings(stacks: dict[str, Stack], operations: dict, samples: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds of each request on each set, the sets taking turns request by request."""
    taken: dict[str, dict[str, list[float]]] = {label: {} for label in stacks}
    for name, call in operations.items():
        for label, stack in stacks.items():  # warm: connections, caches
            check(call(stack, 0), name)
            taken[label][name] = []
        for i in range(samples):
            order = list(stacks.items()) if i % 2 == 0 else list(reversed(stacks.items()))
            for label, stack in order:
                began = time.perf_counter()
                answer = call(stack, i + 1)
                taken[label][name].append((time.perf_counter() - began) * 1000)
                check(answer, name)
    return taken


def check(answer: requests.Response, name: str) -> None:
    if answer.status_code >= 300:
        raise SystemExit(f"{name}: {answer.request.method} {answer.url} answered {answer.status_code}: {answer.text[:300]}")


# -- the shape of seeded documents ----------------------------------------------------------------


def shape(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, type) of every value in a document; list items share the path ``[]``; None is a
    type of its own, which matches any (a field not set this time)."""
    if isinstance(value, dict):
        yield path, "object"
        for key, inner in value.items():
            yield from shape(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        yield path, "array"
        for item in value:
            yield from shape(item, f"{path}[]")
    elif value is None:
        yield path, "null"
    else:
        yield path, "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def shape_differences(served: dict, seeded: dict) -> list[str]:
    mine: dict[str, set[str]] = {}
    theirs: dict[str, set[str]] = {}
    for found, document in ((mine, served), (theirs, seeded)):
        for path, kind in shape(document):
            found.setdefault(path, set()).add(kind)

    def under_null(path: str, kinds: dict[str, set[str]]) -> bool:  # inside a value that is None on the other side
        parts = path.replace("[]", "").split(".")
        return any(kinds.get(".".join(parts[:i])) == {"null"} for i in range(1, len(parts)))

    differences = []
    for path in sorted(set(mine) | set(theirs)):
        served_kinds, seeded_kinds = mine.get(path), theirs.get(path)
        if served_kinds is None or seeded_kinds is None:
            other = theirs if served_kinds is None else mine
            if not under_null(path, other):
                differences.append(f"{path}: only {'seeded' if served_kinds is None else 'served'}")
        elif not ({"null"} in (served_kinds, seeded_kinds) or served_kinds & seeded_kinds):
            differences.append(f"{path}: served {sorted(served_kinds)}, seeded {sorted(seeded_kinds)}")
    return differences


def compare_shapes(databases: Databases, stack: Stack, client: Client, secret: str, since: datetime) -> list[str]:
    """Documents the APIs stored (after ``since``) against seeded ones of the same kind."""
    token = mint(secret, sub=client.therapist, tenant=client.tenant, role="therapist", ttl_seconds=3600)
    created = stack.session.post(f"{stack.urls['goals']}/v1/goals", headers={"Authorization": f"Bearer {token}"},
                                 json=goal_payload(client, 0, since.date()))
    check(created, "create a goal")
    goal_id = created.json()["id"]
    responses, goals = databases["questionnaires"][questionnaires_config.RESPONSES], databases["goals"]
    history, current = goals[goals_config.HISTORY], goals[goals_config.CURRENT]
    scope = {"tenant": client.tenant, "client_id": client.id}
    pairs = {
        "response": (responses.find_one({**scope, "instrument": "phq9", "created_at": {"$gte": since}}),
                     responses.find_one({**scope, "instrument": "phq9", "seq": 2})),
        "goal creation record": (history.find_one({"_id": goal_id}),
                                 history.find_one({"_id": stack.goal_ids[client.id][0]})),
        "progress entry": (history.find_one({**scope, "record": ENTRY, "created_at": {"$gte": since}}),
                           history.find_one({**scope, "goal_id": stack.goal_ids[client.id][0], "record": ENTRY})),
        # The measured goal's, rewritten by the service as progress was logged; a seeded one untouched.
        "current-goal document": (current.find_one({"_id": stack.goal_ids[client.id][0]}),
                                  current.find_one({"_id": stack.goal_ids[client.id][-1]})),
    }
    differences = []
    for kind, (served, seeded) in pairs.items():
        if served is None or seeded is None:
            differences.append(f"{kind}: none {'served' if served is None else 'seeded'} to compare")
            continue
        differences += [f"{kind}: {difference}" for difference in shape_differences(served, seeded)]
    return differences


# -- the run --------------------------------------------------------------------------------


def report(seeded: Seeded, taken: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> bool:
    """Prints the seeding and the table; True when every target is met."""
    counts, first, last = seeded.counts, *seeded.tenths
    print(f"\nseeded {counts['responses']:,} responses, {counts['goals']:,} goals with progress and "
          f"{counts['notifications']:,} notifications ({counts['documents']:,} documents) across {args.tenants} "
          f"clinics in {seeded.seconds:.0f} s: {counts['documents'] / seeded.seconds:,.0f} documents/s, "
          f"{counts['responses'] / seeded.seconds:,.0f} responses/s")
    drift = last / first
    rate_ok = abs(1 - drift) <= 0.2
    print(f"responses/s, first tenth {first:,.0f}, last tenth {last:,.0f}: last/first {drift:.2f} "
          f"(target within 20 %) {'OK' if rate_ok else 'OUTSIDE TARGET'}")
    print(f"\n{args.samples} requests each per set, the sets taking turns; gunicorn, 2 processes per API")
    print(f"{'request':30} {'empty p50/p95 ms':>18} {'full p50/p95 ms':>18} {'p95 full/empty':>15}  target")
    all_ok = rate_ok
    for name in taken["empty"]:
        empty, full = taken["empty"][name], taken["full"][name]
        p50e, p95e, p50f, p95f = (percentile(empty, 0.5), percentile(empty, 0.95),
                                  percentile(full, 0.5), percentile(full, 0.95))
        ok = p95f < 50 and p95f / p95e <= 2
        all_ok &= ok
        print(f"{name:30} {p50e:8.1f} /{p95e:7.1f} {p50f:8.1f} /{p95f:7.1f} {p95f / p95e:15.2f}  "
              f"{'OK' if ok else 'MISSED (p95 < 50 ms, ratio <= 2)'}")
    return all_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=1_000_000, help="responses stored in the full set")
    parser.add_argument("--goals", type=int, default=100_000, help="goals stored in the full set")
    parser.add_argument("--tenants", type=int, default=50, help="clinics they belong to")
    parser.add_argument("--samples", type=int, default=200, help="times each request is timed on each set")
    parser.add_argument("--processes", type=int, default=4, help="seeding processes (each takes whole clinics)")
    parser.add_argument("--keep", action="store_true", help="keep the databases (their names are printed)")
    args = parser.parse_args()
    if min(args.tenants, args.responses, args.goals, args.processes, args.samples) < 1:
        parser.error("--responses, --goals, --tenants, --processes and --samples must be at least 1")
    url = os.environ.get("MONGO_URL", DEFAULT_MONGO_URL)
    secret = secrets.token_hex(32)
    run = uuid.uuid4().hex[:8]
    now = datetime.now(timezone.utc)
    start = now - timedelta(days=HISTORY_DAYS + 1)
    everyone = population(args.responses, args.goals, args.tenants)
    measured = everyone[:MEASURED_CLIENTS]

    def log(line: str) -> None:
        print(line, flush=True)

    sets = {label: Databases(url, f"bench_{run}_{label}") for label in ("empty", "full")}
    scratch = Path(tempfile.mkdtemp(prefix="stepwise-bench-"))
    processes: list[subprocess.Popen] = []
    try:
        log(f"run {run}: seeding the empty set ({len(measured)} measured clients)")
        small = seed(url, sets["empty"].prefix, measured, start, 1, lambda line: None)
        log(f"seeding the full set: {len(everyone):,} clients, {args.responses:,} responses, {args.goals:,} goals")
        seeded = seed(url, sets["full"].prefix, everyone, start, args.processes, log)
        env = {"MONGO_URL": url, "AMQP_URL": os.environ.get("AMQP_URL", DEFAULT_AMQP_URL), "JWT_SECRET": secret}
        stacks = {}
        for label, goal_ids in (("empty", small.goal_ids), ("full", seeded.goal_ids)):
            urls = {}
            for service in SERVICES:
                process, urls[service] = start_api(service, env, sets[label][service].name, 2, scratch)
                processes.append(process)
            stacks[label] = Stack(urls, goal_ids)
        timed_from = datetime.now(timezone.utc)
        taken = timings(stacks, requests_to_time(secret, measured), args.samples)
        met = report(seeded, taken, args)
        differences = compare_shapes(sets["full"], stacks["full"], measured[0], secret, timed_from)
        if differences:
            print("\nSEEDED DOCUMENTS DIFFER FROM WHAT THE SERVICES STORE:\n  " + "\n  ".join(differences))
            return 1
        print("\nseeded documents have the shape of those the services stored while timed")
        return 0 if met else 2
    finally:
        stop(processes)
        shutil.rmtree(scratch, ignore_errors=True)
        names = [database.name for databases in sets.values() for database in databases.by_service.values()]
        if args.keep:
            print(f"kept: {', '.join(names)}")
        else:
            client: pymongo.MongoClient[dict] = pymongo.MongoClient(url)
            for name in names:
                client.drop_database(name)
            client.close()


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    sys.exit(main())
