"""Properties over every built-in instrument: any valid answer set scores inside the declared
range, and anything else raises AnswerError, never another exception."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.questionnaires.domain import AnswerError, load_builtin_instruments, score

INSTRUMENTS = load_builtin_instruments()
CODES = sorted(INSTRUMENTS)


@st.composite
def valid_answers(draw, instrument):
    """Allowed answers, leaving out only what the instrument's missing rule accepts, as a list
    or as an object keyed by item id."""
    values = [draw(st.sampled_from(item.answer_values())) for item in instrument.items]
    rule = instrument.scoring.missing
    required = [i for i, item in enumerate(instrument.items) if not item.optional]
    optional = [i for i, item in enumerate(instrument.items) if item.optional]
    leave_out = [i for i in optional if draw(st.booleans())]
    if rule.rule == "prorate":
        leave_out += draw(st.lists(st.sampled_from(required), max_size=rule.max_missing, unique=True))
    for index in leave_out:
        values[index] = None
    if draw(st.booleans()):
        return values
    ids = [item.id for item in instrument.items]
    # An object may also omit an unanswered item altogether.
    return {i: v for i, v in zip(ids, values, strict=True) if v is not None or draw(st.booleans())}


@pytest.mark.parametrize("code", CODES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_valid_answers_score_inside_the_declared_range(code, data):
    instrument = INSTRUMENTS[code]
    result = score(instrument, data.draw(valid_answers(instrument)))
    low, high = instrument.scoring.range
    assert low <= result.total <= high
    if instrument.bands:
        band = next(b for b in instrument.bands if b.label == result.severity)
        assert band.min <= result.total <= band.max
    for name, value in result.subscales.items():
        items = [instrument.item(i) for i in instrument.scoring.subscales[name].items]
        assert sum(i.score_bounds()[0] for i in items) <= value <= sum(i.score_bounds()[1] for i in items)


NOT_WHOLE_NUMBERS = st.one_of(
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@st.composite
def one_bad_answer(draw, instrument):
    """Valid answers with one answer broken: a wrong type, a number that is not allowed, or a
    required answer left out beyond what the missing rule accepts."""
    values = [draw(st.sampled_from(item.answer_values())) for item in instrument.items]
    index = draw(st.integers(0, len(values) - 1))
    item = instrument.items[index]
    allowed = set(item.answer_values())
    bad = draw(NOT_WHOLE_NUMBERS | st.integers(-1000, 1000).filter(lambda v: v not in allowed))
    values[index] = bad
    return values


@st.composite
def too_many_missing(draw, instrument):
    values = [draw(st.sampled_from(item.answer_values())) for item in instrument.items]
    rule = instrument.scoring.missing
    allowed = rule.max_missing if rule.rule == "prorate" else 0
    required = [i for i, item in enumerate(instrument.items) if not item.optional]
    for index in draw(st.lists(st.sampled_from(required), min_size=allowed + 1, unique=True)):
        values[index] = None
    return values


@pytest.mark.parametrize("code", CODES)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_one_bad_answer_raises_answer_error_naming_it(code, data):
    instrument = INSTRUMENTS[code]
    answers = data.draw(st.one_of(one_bad_answer(instrument), too_many_missing(instrument)))
    with pytest.raises(AnswerError) as caught:
        score(instrument, answers)
    ids = {instrument.items[i].id for i, value in enumerate(answers) if not _valid(instrument.items[i], value)}
    assert {f"answers.{item_id}" for item_id in ids} <= set(caught.value.errors)


def _valid(item, value):
    return value is None or (type(value) is int and item.allows(value))


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda children: st.lists(children, max_size=25) | st.dictionaries(st.text(max_size=3), children, max_size=25),
    max_leaves=40,
)


@pytest.mark.parametrize("code", CODES)
@settings(max_examples=150, deadline=None)
@given(answers=JUNK)
def test_anything_either_scores_in_range_or_raises_answer_error(code, answers):
    instrument = INSTRUMENTS[code]
    try:
        result = score(instrument, answers)
    except AnswerError as error:
        assert error.errors and all(key == "answers" or key.startswith("answers.") for key in error.errors)
        return
    low, high = instrument.scoring.range
    assert low <= result.total <= high
