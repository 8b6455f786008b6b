"""Reading Prometheus metrics pages in tests: scrape, find a sample, lint with promtool."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]


def promtool() -> str:
    """promtool's path; the tests fail, saying how to get it, when it is missing."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: run scripts/install-tools (Debian's prometheus package)", pytrace=False)
    return found


def promtool_run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120)


class Page:
    """One scrape of a metrics endpoint."""

    def __init__(self, text: str):
        self.text = text
        self.samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples]

    @classmethod
    def of(cls, url: str) -> Page:
        answer = requests.get(url, timeout=10)
        answer.raise_for_status()
        return cls(answer.text)

    def names(self) -> set[str]:
        """The names of every series on the page (``_total``, ``_bucket``, ``_count``, ... included)."""
        return {sample.name for sample in self.samples}

    def value(self, series: str, /, **labels: str) -> float | None:
        """The value of ``series`` whose labels include ``labels`` (None when absent)."""
        for sample in self.samples:
            if sample.name == series and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
        return None

    def labels(self, name: str) -> list[dict[str, str]]:
        return [sample.labels for sample in self.samples if sample.name == name]
