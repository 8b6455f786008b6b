"""Properties of POST /v1/responses, through the Flask test client against the real database:
any valid answer set is scored inside the instrument's range; anything else is a 4xx, never a 5xx."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.questionnaires import config
from services.questionnaires.app import create_app
from services.questionnaires.domain import load_builtin_instruments

pytestmark = pytest.mark.integration

INSTRUMENTS = load_builtin_instruments()
CODES = sorted(INSTRUMENTS)
PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def valid_answers(draw):
    """An instrument and a complete (or, where its rule allows, partly missing) answer set,
    as a list in item order or an object keyed by item id."""
    instrument = INSTRUMENTS[draw(st.sampled_from(CODES))]
    values = {item.id: draw(st.sampled_from(item.answer_values())) for item in instrument.items}
    rule = instrument.scoring.missing
    droppable = [item.id for item in instrument.items if item.optional]
    if rule.rule == "prorate":
        droppable += draw(st.lists(st.sampled_from([i.id for i in instrument.items if not i.optional]),
                                   max_size=rule.max_missing, unique=True))
    for item_id in droppable:
        if draw(st.booleans()):
            values[item_id] = None
    if draw(st.booleans()):
        return instrument, [values[item.id] for item in instrument.items]
    return instrument, {key: value for key, value in values.items() if value is not None or draw(st.booleans())}


# Strings include lone surrogates: valid JSON escapes that no database driver can store.
TEXT = st.text(max_size=5) | st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=12,
)


@st.composite
def invalid_answers(draw):
    """A real instrument with answers that cannot be scored."""
    instrument = INSTRUMENTS[draw(st.sampled_from(CODES))]
    items = instrument.items
    answers = [draw(st.sampled_from(item.answer_values())) for item in items]
    broken = draw(st.sampled_from(["out_of_range", "wrong_type", "count", "unknown_item", "shape"]))
    index = draw(st.integers(0, len(items) - 1))
    if broken == "out_of_range":
        allowed = set(items[index].answer_values())
        answers[index] = draw(st.integers(-50, 50).filter(lambda v: v not in allowed))
    elif broken == "wrong_type":
        answers[index] = draw(st.text(max_size=3) | st.floats(allow_nan=False).filter(lambda f: not f.is_integer())
                              | st.booleans() | st.lists(st.integers(), max_size=2))
    elif broken == "count":
        extra = draw(st.integers(1, 3))
        answers = answers + [0] * extra if draw(st.booleans()) else answers[: max(0, len(answers) - extra)]
    elif broken == "unknown_item":
        answers = {**{item.id: value for item, value in zip(items, answers, strict=False)}, draw(st.sampled_from(["0", "x", "99"])): 1}
    else:
        answers = draw(st.integers() | st.text(max_size=4) | st.none())
    return instrument, answers


@pytest.fixture
def api(harness, auth):
    settings_ = harness.settings(config.SERVICE, config.OPTIONS)
    return create_app(settings=settings_).test_client(), auth("therapist", "therapist-1", "clinic-a")


def test_any_valid_answer_set_is_scored_inside_the_instruments_range(api):
    client, headers = api

    @PROPERTY
    @given(case=valid_answers(), client_number=st.integers(1, 5))
    def check(case, client_number):
        instrument, answers = case
        answer = client.post("/v1/responses", headers=headers,
                             json={"client_id": f"client-{client_number}", "instrument": instrument.code, "answers": answers})
        assert answer.status_code == 201, answer.get_json()
        low, high = instrument.scoring.range
        total = answer.get_json()["score"]["total"]
        assert low <= total <= high
        band = instrument.band_for(total)
        assert answer.get_json()["score"]["severity"] == (band.label if band else None)

    check()


def test_answers_that_cannot_be_scored_are_422_and_store_nothing(api, harness):
    client, headers = api

    @PROPERTY
    @given(case=invalid_answers())
    def check(case):
        instrument, answers = case
        answer = client.post("/v1/responses", headers=headers,
                             json={"client_id": "client-1", "instrument": instrument.code, "answers": answers})
        assert answer.status_code == 422, (answers, answer.get_json())
        assert any(key.startswith("answers") for key in answer.get_json()["errors"])

    check()
    database = create_app(settings=harness.settings(config.SERVICE, config.OPTIONS)).extensions["stepwise"].database
    assert database["responses"].count_documents({}) == 0


def test_any_json_body_gets_a_4xx_or_a_201_never_a_5xx(api):
    client, headers = api

    @PROPERTY
    @given(body=JSON | st.fixed_dictionaries({"client_id": JSON, "instrument": st.sampled_from(CODES) | JSON,
                                              "answers": JSON}))
    def check(body):
        answer = client.post("/v1/responses", headers=headers, json=body)
        assert answer.status_code in (201, 400, 403, 409, 422), (body, answer.status_code, answer.get_json())

    check()


def _paths(value, prefix=()):
    """Every path into a JSON document."""
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, prefix + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, prefix + (index,))


def _replace(document, path, value):
    if not path:
        return value
    copy = list(document) if isinstance(document, list) else dict(document)
    copy[path[0]] = _replace(document[path[0]], path[1:], value)
    return copy


@st.composite
def mutated_definitions(draw):
    """A built-in definition under a new code with one to three parts replaced by any JSON."""
    definition = {**INSTRUMENTS[draw(st.sampled_from(CODES))].to_dict(), "code": "mutant"}
    for _ in range(draw(st.integers(1, 3))):
        paths = [path for path in _paths(definition) if path]
        definition = _replace(definition, draw(st.sampled_from(paths)), draw(JSON))
    return definition


def test_any_instrument_definition_gets_201_or_a_4xx_never_a_5xx(harness, auth):
    client = create_app(settings=harness.settings(config.SERVICE, config.OPTIONS)).test_client()
    headers = auth("admin", "admin-1", "clinic-a")

    @PROPERTY
    @given(definition=mutated_definitions())
    def check(definition):
        answer = client.post("/v1/instruments", headers=headers, json=definition)
        assert answer.status_code in (201, 409, 422), (definition, answer.status_code, answer.get_json())

    check()


# Code-like strings: URIs, LOINC-shaped codes, control characters, surrogates and plain text.
CODE_TEXT = (
    st.sampled_from(["http://loinc.org", "urn:oid:2.16.840.1", "44249-1", "44249-2", "panel", "total", "item:1", "item:99"])
    | st.text(st.characters(min_codepoint=0, max_codepoint=0x9f), max_size=6)
    | TEXT
)


@st.composite
def coded_definitions(draw):
    """A valid clinic definition whose codes are any mixture of good and bad codings."""
    definition = {**INSTRUMENTS["gad7"].to_dict(), "code": "coded"}
    field = CODE_TEXT | JSON
    codings = st.dictionaries(st.sampled_from(["system", "code", "role", "display", "source", "x"]), field, max_size=6)
    definition["codes"] = draw(st.lists(codings | JSON, max_size=4) | JSON)
    return definition


def test_any_codes_get_201_or_422_never_a_5xx(harness, auth):
    client = create_app(settings=harness.settings(config.SERVICE, config.OPTIONS)).test_client()
    headers = auth("admin", "admin-1", "clinic-a")

    @PROPERTY
    @given(definition=coded_definitions())
    def check(definition):
        answer = client.post("/v1/instruments", headers=headers, json=definition)
        assert answer.status_code in (201, 409, 422), (definition, answer.status_code, answer.get_json())
        if answer.status_code == 422:
            assert any(key == "codes" or key.startswith("codes.") for key in answer.get_json()["errors"])

    check()
