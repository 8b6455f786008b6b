from datetime import datetime, timezone

import pytest

from shared.errors import Problem, flatten_errors
from shared.paging import decode_cursor, encode_cursor


def test_webargs_location_is_dropped_and_nested_fields_are_dotted():
    messages = {"json": {"measure": {"target": ["Not a valid number."]}, "title": ["Missing data for required field."]}}
    assert flatten_errors(messages) == {
        "measure.target": ["Not a valid number."],
        "title": ["Missing data for required field."],
    }


def test_list_items_keep_their_index():
    assert flatten_errors({"answers": {3: ["must be between 0 and 3"]}}) == {"answers.3": ["must be between 0 and 3"]}


def test_schema_level_messages_have_a_name():
    assert flatten_errors(["bad"]) == {"_schema": ["bad"]}


def test_cursor_round_trip():
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
    assert decode_cursor(encode_cursor(moment, "abc")) == (moment, "abc")


def test_a_forged_cursor_is_a_422_naming_the_cursor():
    with pytest.raises(Problem) as caught:
        decode_cursor("not-a-cursor")
    assert caught.value.status == 422
    assert "cursor" in caught.value.errors


def test_unpaired_surrogates_are_found_with_their_path():
    from shared.errors import unencodable_text

    assert unencodable_text({"a": ["ok", "\ud800"]}) == "a.1"
    assert unencodable_text({"\udfff": 1}) == "\udfff"
    assert unencodable_text({"emoji": "\U0001f600", "n": 3}) is None
