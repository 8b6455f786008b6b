"""How a topic exchange routes: the broker binds consumers' queues this way, notifications
matches webhook subscriptions this way, and the AsyncAPI document lists each queue's events this way."""
from __future__ import annotations


def matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more words.

    ``goal.*`` matches ``goal.achieved`` but not ``goal`` or ``goal.a.b``; ``#`` matches
    everything; ``goal.#`` matches ``goal`` and ``goal.achieved``.
    """
    words, keys = pattern.split("."), routing_key.split(".")
    # reachable[j]: the pattern words read so far can consume exactly keys[:j].
    reachable = [True] + [False] * len(keys)
    for word in words:
        if word == "#":
            for j in range(1, len(keys) + 1):
                reachable[j] = reachable[j] or reachable[j - 1]
        else:
            reachable = [False] + [
                reachable[j] and (word == "*" or word == keys[j]) for j in range(len(keys))
            ]
    return reachable[-1]
