"""Codes of the built-in instruments (LOINC where one was confirmed, else Stepwise's own system),
and the checks a definition's codes pass: a URI for the system, a clean code, a known role, a
LOINC check digit.

The code tables below are typed in from the LOINC pages named in the definitions,
independently of the JSON files, so a mistyped code in a file fails here."""
from __future__ import annotations

import json

import pytest

from services.questionnaires.domain import InstrumentError, parse_instrument
from services.questionnaires.domain.codes import LOINC, STEPWISE_INSTRUMENTS, loinc_check_digit, loinc_problem

# (system, panel code, total code) of each built-in.
PANEL_AND_TOTAL = {
    "phq9": (LOINC, "44249-1", "44261-6"),
    "gad7": (LOINC, "69737-5", "70274-6"),
    "phq2": (LOINC, "55757-9", "55758-7"),
    "phq15": (LOINC, "69728-4", "70273-8"),
    "pcl5": (LOINC, "101697-1", "101698-9"),
    "audit": (LOINC, "72110-0", "75624-7"),
    "auditc": (LOINC, "72109-2", "75626-2"),
    # No LOINC code could be confirmed for these.
    "gad2": (STEPWISE_INSTRUMENTS, "gad2", "gad2-total"),
    "who5": (STEPWISE_INSTRUMENTS, "who5", "who5-total"),
    "k10": (STEPWISE_INSTRUMENTS, "k10", "k10-total"),
    "wsas": (STEPWISE_INSTRUMENTS, "wsas", "wsas-total"),
    "waisr": (STEPWISE_INSTRUMENTS, "waisr", "waisr-total"),
}

# LOINC item codes, in item order, where the instrument's items are LOINC's questions.
ITEM_CODES = {
    "phq9": ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"],
    "gad7": ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"],
    "phq2": ["44250-9", "44255-8"],
    "gad2": ["69725-0", "68509-9"],
}


def codes_by_role(instrument):
    return {coding.role: coding for coding in instrument.codes}


def test_the_tables_cover_every_builtin(builtins):
    assert set(PANEL_AND_TOTAL) == set(builtins)


@pytest.mark.parametrize("code", sorted(PANEL_AND_TOTAL))
def test_panel_and_total_codes(builtins, code):
    system, panel, total = PANEL_AND_TOTAL[code]
    roles = codes_by_role(builtins[code])
    assert (roles["panel"].system, roles["panel"].code) == (system, panel)
    assert (roles["total"].system, roles["total"].code) == (system, total)


@pytest.mark.parametrize("code", sorted(PANEL_AND_TOTAL))
def test_item_codes_are_loincs_questions_in_item_order(builtins, code):
    instrument = builtins[code]
    items = [(c.role, c.system, c.code) for c in instrument.codes if c.role.startswith("item:")]
    expected = [(f"item:{item.id}", LOINC, loinc) for item, loinc in zip(instrument.items, ITEM_CODES.get(code, []), strict=False)]
    assert items == expected


@pytest.mark.parametrize("code", sorted(PANEL_AND_TOTAL))
def test_every_code_is_well_formed_and_names_where_it_was_confirmed(builtins, code):
    for coding in builtins[code].codes:
        assert coding.source and coding.display
        if coding.system == LOINC:
            assert loinc_problem(coding.code) is None, coding.code
            assert f"LOINC {coding.code}" in coding.source
        else:
            # Stepwise's own codes say so, so nobody mistakes them for published ones.
            assert coding.system == STEPWISE_INSTRUMENTS
            assert coding.source.startswith("Stepwise code, not a published one")


@pytest.mark.parametrize("code", sorted(PANEL_AND_TOTAL))
def test_codes_do_not_carry_wording_that_is_not_licensed(builtins, code):
    instrument = builtins[code]
    if not instrument.licence.redistribute_items:
        assert not [c for c in instrument.codes if c.role.startswith("item:")]


@pytest.mark.parametrize("code", sorted(PANEL_AND_TOTAL))
def test_codes_round_trip_through_the_schema(builtins, code):
    again = parse_instrument(json.loads(json.dumps(builtins[code].to_dict())))
    assert again.codes == builtins[code].codes


# --- LOINC check digits ----------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "check"), [("44249", 1), ("44261", 6), ("101697", 1), ("12345", 5), ("8302", 2)])
def test_loinc_check_digit(number, check):
    # 12345-5 is the LOINC Users' Guide's worked example; the others are published codes.
    assert loinc_check_digit(number) == check


def test_a_mistyped_loinc_code_is_caught():
    assert loinc_problem("44249-1") is None
    assert loinc_problem("44294-1") == "has a wrong LOINC check digit (expected 44294-7)"
    assert loinc_problem("44249") == "is not a LOINC code (digits, a hyphen and a check digit, e.g. 44249-1)"
    assert loinc_problem("LP1234-5") is not None


# --- codes in a posted definition --------------------------------------------------------------


def errors_of(data):
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data)
    return caught.value.errors


def with_codes(definition, *codings):
    definition["codes"] = list(codings)
    return definition


def coding(**fields):
    return {"system": "https://clinic.example/codes", "code": "A1", "role": "panel", **fields}


def test_a_definition_may_carry_codes_of_any_system(definition):
    instrument = parse_instrument(with_codes(
        definition,
        coding(display="Clinic check", source="clinic catalogue"),
        coding(role="total", code="A1-T"),
        coding(role="item:2", code="Q 2"),
        {"system": LOINC, "code": "44261-6", "role": "total"},
    ))
    found = [(c.role, c.code) for c in instrument.codes]
    assert found == [("panel", "A1"), ("total", "A1-T"), ("item:2", "Q 2"), ("total", "44261-6")]
    assert instrument.codes[0].display == "Clinic check"


def test_codes_are_optional(definition):
    assert parse_instrument(definition).codes == ()


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        (coding(system="loinc.org"), "system", "must be an absolute URI, e.g. http://loinc.org"),
        (coding(system="http://loinc.org/ codes"), "system", "must be an absolute URI, e.g. http://loinc.org"),
        (coding(system="http://x" + "y" * 300), "system", "Longer than maximum length 255."),
        (coding(code=""), "code", "Length must be between 1 and 64."),
        (coding(code=" A1"), "code", "must have no control characters and no spaces at either end"),
        (coding(code="A1\n"), "code", "must have no control characters and no spaces at either end"),
        (coding(code="A\u00851"), "code", "must have no control characters and no spaces at either end"),
        (coding(code="A" * 65), "code", "Length must be between 1 and 64."),
        (coding(display="Tab\there"), "display", "must have no control characters"),
        (coding(role="score"), "role", "must be panel, total or item:<item id>"),
        (coding(role="item:"), "role", "must be panel, total or item:<item id>"),
        (coding(role="panel\n"), "role", "must be panel, total or item:<item id>"),
        (coding(system=LOINC, code="44249-2"), "code", "has a wrong LOINC check digit (expected 44249-1)"),
        (coding(system=LOINC, code="PHQ-9"), "code",
         "is not a LOINC code (digits, a hyphen and a check digit, e.g. 44249-1)"),
        (coding(code=7), "code", "Not a valid string."),
        (coding(system=None), "system", "Field may not be null."),
        (coding(colour="blue"), "colour", "Unknown field."),
    ],
)
def test_a_bad_code_names_its_field(definition, bad, field, message):
    errors = errors_of(with_codes(definition, bad))
    assert list(errors) == ["codes"] and list(errors["codes"]) == ["0"] and list(errors["codes"]["0"]) == [field]
    assert message in errors["codes"]["0"][field]


def test_a_code_needs_system_code_and_role(definition):
    assert errors_of(with_codes(definition, {})) == {"codes": {"0": {
        "system": ["Missing data for required field."],
        "code": ["Missing data for required field."],
        "role": ["Missing data for required field."],
    }}}


def test_an_item_code_must_name_an_item(definition):
    assert errors_of(with_codes(definition, coding(role="item:9"))) == {"codes": {"0": {"role": ["unknown item 9"]}}}


def test_one_code_per_system_and_role(definition):
    errors = errors_of(with_codes(definition, coding(), coding(code="B2")))
    assert errors == {"codes": {"1": {"role": ["a second https://clinic.example/codes code for panel"]}}}


@pytest.mark.parametrize("bad", ["44249-1", {"system": "http://loinc.org"}, None])
def test_codes_must_be_a_list_of_objects(definition, bad):
    definition["codes"] = bad if isinstance(bad, str) or bad is None else [bad, "x"]
    errors = errors_of(definition)
    assert list(errors) == ["codes"]
