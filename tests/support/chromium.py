"""Headless Chromium (Debian's, installed by scripts/install-tools) drawing a picture the way a
browser would, with the network off: requests not to loopback go to a proxy on 127.0.0.1:9, where
nothing listens, and no host name resolves."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

BLACKHOLE = ("127.0.0.1", 9)


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("Chromium is not installed: run scripts/install-tools (as root), or apt-get install chromium",
                    pytrace=False)
    return found


def _run(page: Path, profile: Path, *action: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            f"--proxy-server={BLACKHOLE[0]}:{BLACKHOLE[1]}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--enable-logging=stderr", "--v=0", *action, page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120,
    )


@dataclass
class Drawn:
    dom: str  # the document as Chromium parsed it
    log: str  # Chromium's log, which holds the page's console
    png: Image.Image


def draw(svg: bytes, folder: Path, size: tuple[int, int]) -> Drawn:
    """``svg`` opened in Chromium from a file: its parsed DOM, the log, and a screenshot."""
    page = folder / "chart.svg"
    page.write_bytes(svg)
    dumped = _run(page, folder / "profile-dom", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr
    shot = folder / "chart.png"
    taken = _run(page, folder / "profile-shot", f"--window-size={size[0]},{size[1]}", f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.exists(), taken.stderr
    return Drawn(dumped.stdout, dumped.stderr + taken.stderr, Image.open(shot).convert("RGB"))


def console_errors(log: str) -> list[str]:
    """The page's console messages and load failures in Chromium's log (D-Bus noise aside)."""
    return [line for line in log.splitlines() if ":CONSOLE" in line or "Failed to load" in line or "parsererror" in line]


def colours(image: Image.Image) -> int:
    """How many different colours the picture has (at most 256 counted)."""
    found = image.getcolors(maxcolors=256)
    return 257 if found is None else len(found)


def share_not_white(image: Image.Image) -> float:
    grey = image.convert("L")
    histogram = grey.histogram()
    return 1 - sum(histogram[250:]) / sum(histogram)
