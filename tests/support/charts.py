"""What the chart tests of every service check the same way: the SVG answer is health data
(no-store), parses, and is accessible; and Chromium draws it without errors and not blank."""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from PIL import Image

from shared.charts import HEIGHT, WIDTH
from tests.support.chromium import colours, console_errors, draw, share_not_white

SVG = "{http://www.w3.org/2000/svg}"


def parsed_chart(answer) -> ElementTree.Element:
    """The SVG of a 200 answer, checked to be ``role="img"`` with ``aria-labelledby`` naming its
    ``<title>`` and ``<desc>``."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("image/svg+xml")
    assert answer.headers["Cache-Control"] == "no-store"
    root = ElementTree.fromstring(answer.content)
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None, "a chart has a <title> and a <desc>"
    assert (root.get("aria-labelledby") or "").split() == [title.get("id"), desc.get("id")]
    return root


def text_of(root: ElementTree.Element, tag: str) -> str:
    node = root.find(f"{SVG}{tag}")
    assert node is not None, f"the chart has a <{tag}>"
    return node.text or ""


def of_class(root: ElementTree.Element, tag: str, name: str) -> list[ElementTree.Element]:
    return [node for node in root.iter(f"{SVG}{tag}") if name in node.get("class", "").split()]


def assert_not_blank(image: Image.Image) -> None:
    assert colours(image) > 3 and share_not_white(image) > 0.02


def assert_drawn_by_chromium(svg: bytes, folder: Path) -> None:
    page = draw(svg, folder, (WIDTH, HEIGHT))
    assert "<svg" in page.dom and "parsererror" not in page.dom
    assert console_errors(page.log) == []
    assert_not_blank(page.png)
