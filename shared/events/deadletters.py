"""List, inspect and replay dead letters.

    python -m shared.events.deadletters list   --queue stepwise.goals.scores
    python -m shared.events.deadletters show   --queue stepwise.goals.scores --id <event id>
    python -m shared.events.deadletters replay --queue stepwise.goals.scores --id <event id>
    python -m shared.events.deadletters replay --queue stepwise.goals.scores --all
    python -m shared.events.deadletters replay --queue stepwise.goals.scores --all --into stepwise-q.goals.scores

``--queue`` is the consumer's main queue; its dead letters are in ``<queue>.dead``. Listing
reads messages without acknowledging them, so they stay in the queue. Replay sends a message
back to the consumer's main queue with its try count reset, and removes it from dead letters
only after the broker confirmed the replay; ``--into`` sends it to another queue instead (moving
dead letters from classic queues to their quorum successors, docs/DEPLOY.md). ``--amqp-url``
(default ``AMQP_URL``) may name several nodes, comma-separated. Output shows ids, types and the failure reason,
never the event data (it may hold health data); ``reason`` is ``malformed`` (dead-lettered on
its first delivery: fix the raiser, replaying cannot help) or ``failed`` (its handler failed
every try); ``show`` prints the whole event for an
operator who needs it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Iterator

from shared.config import DEFAULT_AMQP_URL
from shared.events import amqp
from shared.events.consumer import ATTEMPT_HEADER, ERROR_HEADER, FAILED_AT_HEADER, REASON_HEADER
from shared.events.publisher import with_headers


def _messages(channel, queue: str, limit: int) -> Iterator[tuple]:
    """Messages from ``queue``, unacknowledged (the broker keeps them until acked)."""
    for _ in range(limit):
        method, properties, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            return
        yield method, properties, body


def _summary(properties, body: bytes) -> dict:
    headers = properties.headers or {}
    try:
        event = json.loads(body)
    except ValueError:
        event = {}
    return {
        "id": properties.message_id or event.get("id"),
        "type": event.get("type", properties.type),
        "tenant": event.get("tenantid"),
        "attempts": headers.get(ATTEMPT_HEADER),
        "failed_at": headers.get(FAILED_AT_HEADER),
        "reason": headers.get(REASON_HEADER),
        "error": headers.get(ERROR_HEADER),
    }


def list_dead(channel, queue: str, limit: int) -> list[dict]:
    return [_summary(props, body) for _, props, body in _messages(channel, amqp.dead_letter_queue(queue), limit)]


def show_dead(channel, queue: str, event_id: str, limit: int) -> dict | None:
    for _, props, body in _messages(channel, amqp.dead_letter_queue(queue), limit):
        if _summary(props, body)["id"] == event_id:
            return {"summary": _summary(props, body), "event": json.loads(body)}
    return None


def replay_dead(connection, queue: str, event_id: str | None, limit: int, into: str | None = None) -> int:
    """Send matching dead letters back to ``queue`` (or to ``into``); returns how many were replayed."""
    reader = connection.channel()
    writer = connection.channel()
    writer.confirm_delivery()
    replayed = 0
    for method, props, body in _messages(reader, amqp.dead_letter_queue(queue), limit):
        if event_id is not None and _summary(props, body)["id"] != event_id:
            continue
        headers = {k: v for k, v in (props.headers or {}).items() if not k.startswith("x-stepwise-")}
        writer.basic_publish("", into or queue, body, with_headers(props, headers), mandatory=True)
        reader.basic_ack(method.delivery_tag)
        replayed += 1
    reader.close()
    return replayed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Inspect and replay dead letters.")
    parser.add_argument("command", choices=["list", "show", "replay"])
    parser.add_argument("--queue", required=True, help="the consumer's main queue, e.g. stepwise.goals.scores")
    parser.add_argument("--id", help="an event id")
    parser.add_argument("--all", action="store_true", help="replay every dead letter")
    parser.add_argument("--into", help="replay into this queue instead of --queue (e.g. its quorum successor)")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URL", DEFAULT_AMQP_URL))
    args = parser.parse_args(argv)
    if args.command in ("show", "replay") and not (args.id or (args.command == "replay" and args.all)):
        parser.error(f"{args.command} needs --id" + (" or --all" if args.command == "replay" else ""))

    connection = amqp.connect(args.amqp_url)
    try:
        if args.command == "list":
            for row in list_dead(connection.channel(), args.queue, args.limit):
                print(json.dumps(row, default=str))
        elif args.command == "show":
            found = show_dead(connection.channel(), args.queue, args.id, args.limit)
            if found is None:
                print(f"no dead letter with id {args.id} in {amqp.dead_letter_queue(args.queue)}", file=sys.stderr)
                return 1
            print(json.dumps(found, indent=2, default=str))
        else:
            target = args.into or args.queue
            count = replay_dead(connection, args.queue, None if args.all else args.id, args.limit, target)
            print(f"replayed {count} message(s) to {target}")
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
