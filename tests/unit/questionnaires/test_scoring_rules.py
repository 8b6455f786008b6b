"""Scoring rules a tenant's own instrument can use, and the errors for answers that cannot be
scored. Every expected number is worked out by hand in the comment beside it."""
from __future__ import annotations

import pytest

from services.questionnaires.domain import AnswerError, parse_instrument, score

SOURCE = "test"


def instrument(items, scoring, **extra):
    return parse_instrument(
        {
            "code": "custom",
            "name": "Custom",
            "version": "1",
            "items": items,
            "scoring": {"source": SOURCE, **scoring},
            "sources": [{"id": "t", "citation": "test"}],
            "licence": {"text": "test", "redistribute_items": True},
            **extra,
        }
    )


def likert(item_id, low=1, high=5, **extra):
    return {"id": item_id, "text": f"Item {item_id}", "min": low, "max": high, **extra}


def errors(inst, answers):
    with pytest.raises(AnswerError) as caught:
        score(inst, answers)
    return caught.value.errors


# --- reverse items, score maps, methods --------------------------------------------------------


def test_reverse_scored_item():
    inst = instrument([likert("a"), likert("b", reverse=True)], {"method": "sum", "range": [2, 10]})
    # b answered 2 on a 1-5 scale scores 1 + 5 - 2 = 4; a scores 5.
    assert score(inst, [5, 2]).total == 9
    assert score(inst, [1, 5]).total == 2


def test_reverse_scored_options_use_the_option_values():
    options = [{"value": 0, "label": "never"}, {"value": 2, "label": "sometimes"}, {"value": 4, "label": "always"}]
    inst = instrument([{"id": "a", "text": "A", "options": options, "reverse": True}], {"method": "sum", "range": [0, 4]})
    assert [score(inst, [v]).total for v in (0, 2, 4)] == [4, 2, 0]


def test_a_score_map_for_odd_item_scoring():
    # Answers 0/1/2 earn 0/2/4 points, like AUDIT items 9 and 10 when answers are positions.
    item = {"id": "q", "text": "Q", "min": 0, "max": 2, "scores": {"0": 0, "1": 2, "2": 4}}
    inst = instrument([item], {"method": "sum", "range": [0, 4]})
    assert [score(inst, [v]).total for v in (0, 1, 2)] == [0, 2, 4]


def test_mean_scoring_with_decimals():
    inst = instrument([likert("a"), likert("b"), likert("c")], {"method": "mean", "range": [1, 5], "decimals": 2})
    # (4 + 5 + 5) / 3 = 4.666... -> 4.67
    assert score(inst, [4, 5, 5]).total == 4.67


def test_multiplier_applies_to_the_total():
    inst = instrument([likert("a", 0, 3), likert("b", 0, 3)], {"method": "sum", "range": [0, 12], "multiplier": 2})
    assert score(inst, [3, 2]).total == 10


def test_subscales_with_their_own_method_and_multiplier():
    inst = instrument(
        [likert("a", 0, 3), likert("b", 0, 3), likert("c", 0, 3), likert("d", 0, 3)],
        {
            "method": "sum",
            "range": [0, 12],
            "subscales": {"first": {"items": ["a", "b"], "multiplier": 2}, "second": {"items": ["c", "d"], "method": "mean"}},
            "decimals": 1,
        },
    )
    result = score(inst, [1, 2, 3, 0])
    # first: (1 + 2) x 2 = 6; second: (3 + 0) / 2 = 1.5
    assert result.subscales == {"first": 6, "second": 1.5}
    assert result.total == 6


def test_a_derived_score():
    inst = instrument(
        [likert("a", 0, 5), likert("b", 0, 5)],
        {"method": "sum", "range": [0, 10], "derived": [{"name": "percent", "multiplier": 10, "source": SOURCE}]},
    )
    assert score(inst, [3, 4]).extras == {"percent": 70}


# --- prorating ---------------------------------------------------------------------------------


def prorated(max_missing=1, **scoring):
    items = [likert(str(i), 0, 4) for i in range(1, 5)]
    return instrument(
        items,
        {"method": "sum", "range": [0, 16], "missing": {"rule": "prorate", "max_missing": max_missing, "source": SOURCE}, **scoring},
    )


def test_prorating_scales_the_answered_items_up():
    # 3 + 3 + 2 = 8 over three of four items: 8 x 4/3 = 10.67 -> 11
    result = score(prorated(), [3, 3, 2, None])
    assert (result.total, result.prorated, result.missing_items) == (11, True, ("4",))


def test_prorating_keeps_decimals_when_asked():
    assert score(prorated(decimals=2), [3, 3, 2, None]).total == 10.67


def test_prorating_rounds_half_up():
    items = [likert(str(i), 0, 4) for i in range(1, 4)]
    inst = instrument(
        items, {"method": "sum", "range": [0, 12], "missing": {"rule": "prorate", "max_missing": 1, "source": SOURCE}}
    )
    # 1 + 2 = 3 over two of three items: 3 x 3/2 = 4.5 -> 5 (half up; banker's rounding gives 4)
    assert score(inst, [1, 2, None]).total == 5


def test_too_many_missing_answers():
    assert errors(prorated(), [None, None, 2, 2]) == {
        "answers.1": ["an answer is required: at most 1 may be left out"],
        "answers.2": ["an answer is required: at most 1 may be left out"],
    }


def test_prorated_subscale():
    inst = prorated(subscales={"half": {"items": ["1", "2"]}})
    # item 1 missing: the subscale is 3 x 2/1 = 6
    assert score(inst, [None, 3, 1, 1]).subscales == {"half": 6}


# --- bands read as lower bounds ----------------------------------------------------------------


def test_a_fractional_total_is_not_yet_in_the_next_band():
    inst = instrument(
        [likert("a", 0, 4), likert("b", 0, 4)],
        {"method": "mean", "range": [0, 4], "decimals": 1},
        bands=[
            {"min": 0, "max": 1.9, "label": "low", "source": SOURCE},
            {"min": 2, "max": 4, "label": "high", "source": SOURCE},
        ],
    )
    assert score(inst, [1, 2]).severity == "low"  # 1.5
    assert score(inst, [2, 2]).severity == "high"  # 2.0


# --- answers that cannot be scored -------------------------------------------------------------

SIMPLE = instrument([likert("1", 0, 3), likert("2", 0, 3)], {"method": "sum", "range": [0, 6]})


@pytest.mark.parametrize("bad", ["2", 2.0, 1.5, True, False, [1], {"v": 1}])
def test_wrong_types_are_refused(bad):
    assert errors(SIMPLE, [1, bad]) == {"answers.2": ["must be a whole number (between 0 and 3)"]}


@pytest.mark.parametrize("bad", [-1, 4, 10**12])
def test_out_of_range_answers_are_refused(bad):
    assert errors(SIMPLE, [bad, 0]) == {"answers.1": ["must be between 0 and 3"]}


def test_wrong_number_of_answers():
    assert errors(SIMPLE, [1]) == {"answers": ["expected 2 answers, got 1"]}
    assert errors(SIMPLE, [1, 1, 1]) == {"answers": ["expected 2 answers, got 3"]}


def test_unknown_item():
    assert errors(SIMPLE, {"1": 0, "2": 1, "7": 2}) == {"answers.7": ["unknown item"]}


def test_missing_answers_in_an_object():
    assert errors(SIMPLE, {"1": 0}) == {"answers.2": ["an answer is required"]}


@pytest.mark.parametrize("bad", [None, "1,2", 3, {1, 2}])
def test_answers_must_be_a_list_or_an_object(bad):
    assert errors(SIMPLE, bad) == {"answers": ["must be a list in item order or an object keyed by item id"]}


def test_all_bad_answers_are_named_at_once():
    assert errors(SIMPLE, {"1": 9, "x": 0}) == {
        "answers.x": ["unknown item"],
        "answers.1": ["must be between 0 and 3"],
        "answers.2": ["an answer is required"],
    }
