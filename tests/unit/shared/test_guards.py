"""The body checks of shared.guards that need no server: nesting, numbers, text, keys."""
import pytest

from shared.guards import MAX_REPORTED_FIELDS, json_problems, nesting_depth


@pytest.mark.parametrize(
    "body, depth",
    [
        (b"{}", 1),
        (b"3", 0),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"text": "[[[[{{{{ not brackets"}', 1),
        (b'{"text": "an escaped \\" quote [[[["}', 1),
        (b"[" * 1000 + b"]" * 1000, 1000),
        (b"[" * 1000, 1000),  # unclosed: still measured, and never parsed
    ],
)
def test_nesting_is_measured_without_parsing(body, depth):
    assert nesting_depth(body) == depth


@pytest.mark.parametrize(
    "body, field",
    [
        ('{"value": 1' + "0" * 400 + "}", "value"),
        ('{"value": 1' + "0" * 4300 + "}", "value"),
        ('{"value": 9223372036854775808}', "value"),
        ('{"value": -9223372036854775809}', "value"),
        ('{"measure": {"baseline": 1e400}}', "measure.baseline"),
        ('{"levels": [0, -1e999]}', "levels.1"),
        ('{"value": NaN}', "value"),
        ('{"value": -Infinity}', "value"),
        ('[1, 2, 1' + "0" * 30 + "]", "2"),
        ('1' + "0" * 30, "body"),
        ('{"note": "\\ud800"}', "note"),
        ('{"\\udfff": 1}', "\udfff"),
        ('{"answers": {"a\\u0000b": 1}}', "answers.a\x00b"),
        ('{"answers": {"a\x7fb": 1}}', "answers.a\x7fb"),
        ('{"answers": {"a\u0085b": 1}}', "answers.a\x85b"),
        ('{"client_id": "c\\u0000-1"}', "client_id"),
        ('{"items": [{"note": "\\u0000"}]}', "items.0.note"),
    ],
)
def test_out_of_range_numbers_bad_text_and_keys_are_named_by_their_field(body, field):
    assert list(json_problems(body)) == [field]


@pytest.mark.parametrize(
    "body",
    [
        '{"value": 9223372036854775807, "low": -9223372036854775808, "f": 1.5e308, "tiny": 1e-400}',
        '{"emoji": "\\ud83d\\ude00", "note": "line\\nbreak", "name": "Zo\u00eb", "raw": "\u00e9\u2603"}',
    ],
)
def test_numbers_in_range_and_good_text_pass(body):
    assert json_problems(body) == {}


def test_the_fields_named_are_bounded():
    assert len(json_problems("[" + ", ".join(["1e999"] * 1000) + "]")) == MAX_REPORTED_FIELDS
