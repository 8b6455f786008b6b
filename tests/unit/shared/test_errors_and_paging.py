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


def test_a_cursor_nested_thousands_deep_is_a_422_not_a_crash():
    import base64

    forged = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode()
    with pytest.raises(Problem) as caught:
        decode_cursor(forged)
    assert caught.value.status == 422
