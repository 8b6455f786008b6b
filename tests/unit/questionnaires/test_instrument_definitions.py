"""Instrument definitions: the built-in library loads and carries its sources and licences, and
invalid definitions are refused with the wrong field named."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from services.questionnaires.domain import InstrumentDefinitionError, InstrumentError, parse_instrument
from services.questionnaires.domain.instruments import load_instruments
from tests.support.change_rules import PUBLISHED_CHANGE_RULES, WITHOUT_CHANGE_RULES

EXPECTED_CODES = {"phq9", "phq2", "gad7", "gad2", "phq15", "who5", "pcl5", "k10", "audit", "auditc", "wsas", "waisr"}


def errors_of(data):
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data)
    return caught.value.errors


# --- the built-in library ---------------------------------------------------------------------


def test_every_builtin_instrument_loads(builtins):
    assert set(builtins) == EXPECTED_CODES


def test_the_contract_names_every_builtin(builtins):
    contract = (Path(__file__).resolve().parents[3] / "docs" / "CONTRACT.md").read_text()
    sentence = contract[contract.index("Codes include"):contract.index("`POST /v1/instruments`")]
    assert set(re.findall(r"`([a-z0-9]+)`", sentence)) == set(builtins)


@pytest.mark.parametrize("code", sorted(EXPECTED_CODES))
def test_every_number_names_its_source(builtins, code):
    instrument = builtins[code]
    assert instrument.sources and instrument.scoring.source
    assert all(band.source for band in instrument.bands)
    assert all(rule.source for rule in instrument.critical_items)
    change = instrument.change
    if change is not None:
        for rule in (change.reliable_change, change.caseness, change.remission, change.response):
            assert rule is None or rule.source
    if instrument.scoring.missing.rule != "refuse":
        assert instrument.scoring.missing.source


@pytest.mark.parametrize("code", sorted(EXPECTED_CODES))
def test_items_not_licensed_for_redistribution_ship_as_placeholders(builtins, code):
    instrument = builtins[code]
    placeholders = ["not licensed for redistribution" in item.text for item in instrument.items]
    if instrument.licence.redistribute_items:
        assert not any(placeholders)
    else:
        assert all(placeholders)


def test_licence_decisions(builtins):
    free = {code for code, instrument in builtins.items() if instrument.licence.redistribute_items}
    # PHQ/GAD screeners: Pfizer's "no permission required"; WHO-5: free with attribution;
    # PCL-5: a US Government work. The rest have no redistribution permission for software.
    assert free == {"phq9", "phq2", "gad7", "gad2", "phq15", "who5", "pcl5"}
    assert "No permission required to reproduce, translate, display or distribute" in builtins["phq15"].licence.text


@pytest.mark.parametrize("code", sorted(EXPECTED_CODES))
def test_to_dict_round_trips_through_the_schema(builtins, code):
    instrument = builtins[code]
    again = parse_instrument(json.loads(json.dumps(instrument.to_dict())))
    assert again == instrument


def test_declared_ranges_match_the_publications(builtins):
    published = {
        "phq9": (0, 27), "phq2": (0, 6), "gad7": (0, 21), "gad2": (0, 6), "phq15": (0, 30),
        "who5": (0, 25), "pcl5": (0, 80), "k10": (10, 50), "audit": (0, 40), "auditc": (0, 12),
        "wsas": (0, 40), "waisr": (12, 60),
    }
    assert {code: tuple(i.scoring.range) for code, i in builtins.items()} == published


def _cut_off(threshold):
    if threshold is None:
        return None
    return (">=", threshold.at_or_above) if threshold.at_or_above is not None else ("<", threshold.below)


def test_the_change_tables_cover_every_instrument(builtins):
    assert set(PUBLISHED_CHANGE_RULES) | WITHOUT_CHANGE_RULES == set(builtins)
    assert not set(PUBLISHED_CHANGE_RULES) & WITHOUT_CHANGE_RULES


@pytest.mark.parametrize("code", sorted(PUBLISHED_CHANGE_RULES))
def test_published_change_rules(builtins, code):
    rules = builtins[code].change
    found = (
        rules.direction,
        rules.reliable_change.threshold if rules.reliable_change else None,
        _cut_off(rules.caseness),
        _cut_off(rules.remission),
        rules.response.fraction if rules.response else None,
    )
    assert found == PUBLISHED_CHANGE_RULES[code]


@pytest.mark.parametrize("code", sorted(WITHOUT_CHANGE_RULES))
def test_instruments_without_published_change_rules_have_none(builtins, code):
    assert builtins[code].change is None


def test_pcl5_clusters_follow_dsm5(builtins):
    subscales = builtins["pcl5"].scoring.subscales
    as_numbers = {name: [int(i) for i in s.items] for name, s in subscales.items()}
    assert as_numbers == {"B": [1, 2, 3, 4, 5], "C": [6, 7], "D": list(range(8, 15)), "E": list(range(15, 21))}


# --- loading files ------------------------------------------------------------------------------


def test_a_bad_file_is_named_with_its_field(tmp_path, definition):
    definition["bands"][1]["min"] = 3
    (tmp_path / "mini.json").write_text(json.dumps(definition))
    with pytest.raises(InstrumentDefinitionError) as caught:
        load_instruments(tmp_path)
    assert caught.value.file == "mini.json"
    assert caught.value.errors == {"bands": ["bands overlap at 3"]}
    assert "mini.json" in str(caught.value) and "bands overlap at 3" in str(caught.value)


def test_a_file_that_is_not_json_is_named(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(InstrumentDefinitionError) as caught:
        load_instruments(tmp_path)
    assert caught.value.file == "broken.json"


def test_the_file_name_must_be_the_code(tmp_path, definition):
    (tmp_path / "other.json").write_text(json.dumps(definition))
    with pytest.raises(InstrumentDefinitionError) as caught:
        load_instruments(tmp_path)
    assert "code" in caught.value.errors


def test_a_valid_file_loads(tmp_path, definition):
    (tmp_path / "mini.json").write_text(json.dumps(definition))
    assert list(load_instruments(tmp_path)) == ["mini"]


# --- invalid definitions name the wrong field ---------------------------------------------------


def test_the_minimal_definition_is_valid(definition):
    assert parse_instrument(definition).code == "mini"


def test_overlapping_bands(definition):
    definition["bands"][1]["min"] = 3
    assert errors_of(definition) == {"bands": ["bands overlap at 3"]}


def test_a_gap_between_bands(definition):
    definition["bands"][1]["min"] = 5
    assert errors_of(definition) == {"bands": ["gap between 3 and 5"]}


def test_bands_must_cover_the_whole_range(definition):
    definition["bands"][1]["max"] = 6
    assert errors_of(definition) == {"bands": ["bands end at 6 but the range ends at 7"]}
    definition["bands"][1]["max"] = 7
    definition["bands"][0]["min"] = 1
    assert errors_of(definition) == {"bands": ["bands start at 1 but the range starts at 0"]}


def test_a_band_needs_its_source(definition):
    del definition["bands"][0]["source"]
    assert errors_of(definition) == {"bands": {"0": {"source": ["Missing data for required field."]}}}


def test_duplicate_option_values(definition):
    definition["items"][2]["options"].append({"value": 1, "label": "Yes again"})
    assert errors_of(definition) == {"items": {"2": {"options": ["duplicate value 1"]}}}


def test_an_option_value_must_be_a_whole_number(definition):
    definition["items"][2]["options"][1]["value"] = "1"
    assert "value" in errors_of(definition)["items"]["2"]["options"]["1"]


def test_options_and_min_max_do_not_mix(definition):
    definition["items"][0]["options"] = [{"value": 0, "label": "a"}, {"value": 1, "label": "b"}]
    assert errors_of(definition) == {"items": {"0": {"options": ["give either options or min and max, not both"]}}}


def test_min_above_max(definition):
    definition["items"][1]["min"] = 4
    assert errors_of(definition) == {"items": {"1": {"max": ["must not be below min (4)"]}}}


def test_a_min_max_scale_has_at_most_a_thousand_steps(definition):
    definition["items"][0]["max"] = 1001
    assert errors_of(definition)["items"] == {"0": {"max": ["at most 1000 above min (0)"]}}


def test_numbers_beyond_a_billion_are_refused(definition):
    # Consistent but enormous: a whole number over 2**63 cannot be stored at all.
    definition["items"][2]["options"][1]["value"] = 10**19
    definition["scoring"]["range"] = [0, 10**19 + 6]
    errors = errors_of(definition)
    assert errors["items"]["2"]["options"]["1"]["value"] == ["must be between -1,000,000,000 and 1,000,000,000"]
    assert errors["scoring"]["range"] == {"1": ["must be between -1,000,000,000 and 1,000,000,000"]}


def test_duplicate_item_ids(definition):
    definition["items"][1]["id"] = "1"
    assert errors_of(definition) == {"items": {"1": {"id": ["duplicate item id 1"]}}}


def test_declared_range_must_match_the_items(definition):
    definition["scoring"]["range"] = [0, 9]
    assert errors_of(definition)["scoring"] == {"range": ["items give [0, 7] but range says [0, 9]"]}


def test_multiplier_must_be_positive(definition):
    definition["scoring"]["multiplier"] = 0
    assert errors_of(definition) == {"scoring": {"multiplier": ["must be positive"]}}
    definition["scoring"]["multiplier"] = -2
    assert errors_of(definition) == {"scoring": {"multiplier": ["must be positive"]}}


def test_a_critical_item_must_exist(definition):
    definition["critical_items"] = [{"item": "9", "above": 0, "flag": "risk", "source": "test"}]
    assert errors_of(definition) == {"critical_items": {"0": {"item": ["unknown item 9"]}}}


def test_a_critical_threshold_that_can_never_fire(definition):
    definition["critical_items"] = [{"item": "1", "above": 3, "flag": "risk", "source": "test"}]
    assert list(errors_of(definition)["critical_items"]["0"]) == ["above"]


def test_a_subscale_item_must_exist(definition):
    definition["scoring"]["subscales"] = {"A": {"items": ["1", "7"]}}
    assert errors_of(definition) == {"scoring": {"subscales": {"A": {"items": ["unknown item 7"]}}}}


def test_an_indicator_must_name_a_subscale(definition):
    definition["scoring"]["subscales"] = {"A": {"items": ["1", "2"]}}
    definition["scoring"]["indicators"] = [
        {"name": "probable", "endorsed_at": 2, "min_endorsed": {"B": 1}, "source": "test"}
    ]
    assert errors_of(definition) == {"scoring": {"indicators": {"0": {"min_endorsed": ["unknown subscale B"]}}}}


def test_scores_must_cover_every_answer(definition):
    definition["items"][2]["scores"] = {"0": 0}
    assert errors_of(definition) == {"items": {"2": {"scores": ["no score for answer 1"]}}}


def test_scores_and_reverse_do_not_mix(definition):
    definition["items"][2]["scores"] = {"0": 1, "1": 0}
    definition["items"][2]["reverse"] = True
    assert list(errors_of(definition)["items"]["2"]) == ["reverse"]


def test_prorate_needs_max_missing_and_a_source(definition):
    definition["scoring"]["missing"] = {"rule": "prorate"}
    errors = errors_of(definition)["scoring"]["missing"]
    assert set(errors) == {"max_missing", "source"}


def test_prorate_cannot_allow_every_item_missing(definition):
    definition["scoring"]["missing"] = {"rule": "prorate", "max_missing": 3, "source": "test"}
    assert list(errors_of(definition)["scoring"]["missing"]) == ["max_missing"]


def test_reliable_change_is_points_or_reliability_and_sd(definition):
    definition["change"] = {"direction": "higher_is_worse", "reliable_change": {"points": 2, "reliability": 0.8, "sd": 3, "source": "t"}}
    assert errors_of(definition) == {"change": {"reliable_change": {"_schema": ["give either points, or reliability and sd"]}}}
    definition["change"]["reliable_change"] = {"reliability": 0.8, "source": "t"}
    assert errors_of(definition) == {"change": {"reliable_change": {"sd": ["reliability and sd go together"]}}}
    definition["change"]["reliable_change"] = {"reliability": 1.2, "sd": 3, "source": "t"}
    assert list(errors_of(definition)["change"]["reliable_change"]) == ["reliability"]


def test_caseness_must_be_on_the_worse_side(definition):
    definition["change"] = {"direction": "higher_is_worse", "caseness": {"below": 4, "source": "t"}}
    assert errors_of(definition) == {"change": {"caseness": ["a case is at_or_above the cut-off"]}}
    definition["change"] = {"direction": "higher_is_better", "caseness": {"at_or_above": 4, "source": "t"}}
    assert errors_of(definition) == {"change": {"caseness": ["a case is below the cut-off"]}}


def test_remission_must_be_on_the_better_side(definition):
    definition["change"] = {"direction": "higher_is_worse", "remission": {"at_or_above": 2, "source": "t"}}
    assert errors_of(definition) == {"change": {"remission": ["remission is below the cut-off"]}}


def test_a_cut_off_outside_the_range(definition):
    definition["change"] = {"direction": "higher_is_worse", "caseness": {"at_or_above": 12, "source": "t"}}
    assert list(errors_of(definition)["change"]) == ["caseness"]


def test_response_fraction_must_be_a_fraction(definition):
    definition["change"] = {"direction": "higher_is_worse", "response": {"fraction": 1.5, "source": "t"}}
    assert list(errors_of(definition)["change"]["response"]) == ["fraction"]


def test_direction_must_be_known(definition):
    definition["change"] = {"direction": "up"}
    assert list(errors_of(definition)["change"]) == ["direction"]


def test_unknown_fields_are_refused(definition):
    definition["colour"] = "blue"
    assert errors_of(definition) == {"colour": ["Unknown field."]}


def test_licence_flag_must_be_a_boolean(definition):
    definition["licence"]["redistribute_items"] = "yes"
    assert list(errors_of(definition)["licence"]) == ["redistribute_items"]


def test_a_code_must_be_a_plain_name(definition):
    definition["code"] = "PHQ 9!"
    assert list(errors_of(definition)) == ["code"]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("code",), "mini\n", "must be lower-case letters, digits, - or _"),
        (("items", 0, "id"), "1\n", "must be letters, digits, . - or _"),
        (("bands", 0, "label"), "low\n", "must be snake_case, e.g. moderately_severe"),
    ],
)
def test_a_name_with_a_trailing_newline_is_refused(definition, path, value, message):
    # A pattern ending in "$" also matches before a final newline; names are matched whole.
    target = definition
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    errors = errors_of(definition)
    for key in path:
        errors = errors[str(key)]
    assert errors == [message]


def test_every_problem_is_reported_at_once(definition):
    definition["bands"][1]["min"] = 3
    definition["critical_items"] = [{"item": "9", "above": 0, "flag": "risk", "source": "test"}]
    assert set(errors_of(definition)) == {"bands", "critical_items"}


def test_a_definition_that_is_not_an_object(definition):
    assert errors_of(["not", "an", "object"]) == {"_schema": ["Invalid input type."]}
