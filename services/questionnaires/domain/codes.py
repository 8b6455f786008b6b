"""Codes that name an instrument, its total and its items in a code system (LOINC, or a clinic's
or Stepwise's own), and the rules a definition's codes must follow.

A FHIR facade will use them as ``Questionnaire.code`` (the panel), ``Observation.code`` (the
total) and ``Questionnaire.item.code`` (the items), so they are checked as FHIR would read them:
the system is an absolute URI, the code has no control characters or surrounding spaces, and a
LOINC code carries a correct check digit (a mistyped LOINC code is usually another, real test).
"""
from __future__ import annotations

import re

LOINC = "http://loinc.org"

# Where no code in a public system could be confirmed, the built-ins use this Stepwise system
# (``<instrument code>`` for the panel, ``<instrument code>-total`` for the total). The
# ``.invalid`` domain says it is not a published code system.
STEPWISE_INSTRUMENTS = "https://stepwise.invalid/fhir/CodeSystem/instruments"

ITEM_PREFIX = "item:"

# C0 and C1 control characters (tab and newline included) are never part of a code or a name.
# The patterns are matched whole (``fullmatch``); their "^" and "$" are for the OpenAPI document.
_CONTROL = r"\x00-\x1f\x7f-\x9f"
URI = re.compile(rf"^[A-Za-z][A-Za-z0-9+.-]*:[^\s{_CONTROL}]+$")
CODE = re.compile(rf"^[^\s{_CONTROL}](?:[^{_CONTROL}]*[^\s{_CONTROL}])?$")
NO_CONTROL = re.compile(rf"^[^{_CONTROL}]*$")
ROLE = re.compile(r"^(panel|total|item:[A-Za-z0-9][A-Za-z0-9_.-]{0,31})$")
LOINC_CODE = re.compile(r"^([0-9]{1,7})-([0-9])$")


def loinc_check_digit(number: str) -> int:
    """The LOINC check digit of the digits before the hyphen (LOINC Users' Guide, "mod 10"):
    double every other digit from the right, starting with the rightmost, add up the digits of
    the results and of the digits left as they are, and take what brings the sum to a multiple
    of ten."""
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(number)):
        if position % 2 == 0:
            digit *= 2
        total += digit // 10 + digit % 10
    return -total % 10


def loinc_problem(code: str) -> str | None:
    """Why ``code`` is not a well-formed LOINC term code, or None when it is."""
    match = LOINC_CODE.fullmatch(code)
    if match is None:
        return "is not a LOINC code (digits, a hyphen and a check digit, e.g. 44249-1)"
    number, check = match.groups()
    if loinc_check_digit(number) != int(check):
        return f"has a wrong LOINC check digit (expected {number}-{loinc_check_digit(number)})"
    return None


def item_of(role: str) -> str | None:
    """The item id an ``item:<id>`` role names, else None."""
    return role[len(ITEM_PREFIX):] if role.startswith(ITEM_PREFIX) else None
