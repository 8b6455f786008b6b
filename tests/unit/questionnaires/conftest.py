"""Shared fixtures: the built-in library, a small valid definition to break, and an answer
builder that reaches a chosen total (so band edges can be tested from published numbers)."""
from __future__ import annotations

import copy

import pytest

from services.questionnaires.domain import load_builtin_instruments


@pytest.fixture(scope="session")
def builtins():
    return load_builtin_instruments()


MINIMAL = {
    "code": "mini",
    "name": "Minimal test instrument",
    "version": "1",
    "items": [
        {"id": "1", "text": "First", "min": 0, "max": 3},
        {"id": "2", "text": "Second", "min": 0, "max": 3},
        {"id": "3", "text": "Third", "options": [{"value": 0, "label": "No"}, {"value": 1, "label": "Yes"}]},
    ],
    "scoring": {"method": "sum", "range": [0, 7], "source": "test"},
    "bands": [
        {"min": 0, "max": 3, "label": "low", "source": "test"},
        {"min": 4, "max": 7, "label": "high", "source": "test"},
    ],
    "sources": [{"id": "test", "citation": "A test definition"}],
    "licence": {"text": "Test only", "redistribute_items": True},
}


@pytest.fixture
def definition():
    """A fresh copy of a valid definition for a test to break."""
    return copy.deepcopy(MINIMAL)


@pytest.fixture(scope="session")
def answers_for():
    return build_answers


def build_answers(instrument, total):
    """Answers, in item order, whose points add up to ``total`` (a sum-scored instrument).

    Works backwards over the items with the set of sums each remaining suffix can reach, so it
    also finds totals that need odd-scored items (AUDIT items 9 and 10 score 0, 2 or 4)."""
    items = instrument.items
    reachable = [{0}]
    for item in reversed(items):
        reachable.insert(0, {s + item.score_of(v) for s in reachable[0] for v in item.answer_values()})
    if total not in reachable[0]:
        raise ValueError(f"{instrument.code} cannot total {total}")
    answers, remaining = [], total
    for index, item in enumerate(items):
        for value in item.answer_values():
            if remaining - item.score_of(value) in reachable[index + 1]:
                answers.append(value)
                remaining -= item.score_of(value)
                break
    return answers
