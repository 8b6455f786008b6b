"""The service README's instrument table stays in step with the definitions: every built-in is a
row, with its range, reliable change, caseness, remission and panel and total codes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.questionnaires.domain.codes import LOINC

README = (Path(__file__).resolve().parents[3] / "services" / "questionnaires" / "README.md").read_text()
COLUMNS = ["code", "instrument", "items", "range", "bands", "risk flag", "reliable change", "caseness",
           "remission", "codes (panel / total)", "wording"]


def table_rows() -> dict[str, dict[str, str]]:
    """The instrument table's rows by code: from its header to the first line that is not a row."""
    lines = README.splitlines()
    start = lines.index("| " + " | ".join(COLUMNS) + " |") + 2
    rows = {}
    for line in lines[start:]:
        match = re.fullmatch(r"\| `([a-z0-9_-]+)` \|(.*)\|", line)
        if match is None:
            break
        cells = [match.group(1)] + [cell.strip() for cell in match.group(2).split("|")]
        rows[match.group(1)] = dict(zip(COLUMNS, cells, strict=False))
    return rows


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def cut_off(threshold) -> str:
    if threshold is None:
        return "–"
    if threshold.at_or_above is not None:
        return f"≥ {number(threshold.at_or_above)}"
    return f"< {number(threshold.below)}"


def test_every_builtin_is_a_row(builtins):
    assert set(table_rows()) == set(builtins)


@pytest.mark.parametrize("code", ["phq9", "gad7", "phq2", "gad2", "who5", "phq15", "pcl5", "k10", "wsas", "audit",
                                  "auditc", "waisr"])
def test_the_row_matches_the_definition(builtins, code):
    instrument, row = builtins[code], table_rows()[code]
    low, high = instrument.scoring.range
    assert row["items"] == str(len(instrument.items))
    assert row["range"] == f"{number(low)}–{number(high)}"
    rules = instrument.change
    reliable = rules.reliable_change if rules else None
    assert row["reliable change"] == (number(reliable.threshold) if reliable else "–")
    assert row["caseness"] == cut_off(rules.caseness if rules else None)
    assert row["remission"] == cut_off(rules.remission if rules else None)
    roles = {coding.role: coding for coding in instrument.codes}
    system = "LOINC" if roles["panel"].system == LOINC else "Stepwise"
    assert row["codes (panel / total)"].startswith(f"{system} {roles['panel'].code} / {roles['total'].code}")
    assert row["wording"] == ("included" if instrument.licence.redistribute_items else "placeholders")
