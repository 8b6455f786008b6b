"""An intent as the words a person reads, per channel.

- ``inbox``: the in-app inbox sits behind Stepwise's login, so its title and body carry what the
  recipient needs to act ("PHQ-9 item 9 answered 2 — please review"). One template per intent
  ``template``, in ``templates/inbox/<template>.txt``.
- ``email``: email crosses servers Stepwise does not control and is read on shared screens, so it
  is not a safe place for health data. Email is rendered from ``templates/email/<priority>.txt``
  *without* the intent's context: it cannot leak a score, an instrument or a goal because it never
  sees one. It only says there is something (urgent) to read, with a link to Stepwise.

Webhooks are not rendered: a subscriber receives the CloudEvent itself.

Each type template defines two blocks, ``title`` and ``body``; paragraphs in ``body`` are separated
by a blank line and may wrap freely (whitespace inside a paragraph is collapsed). The channel's
``_layout`` templates assemble text and HTML from them; ``.html`` templates are autoescaped.
"""

from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from services.notifications.domain.channels import EMAIL, INBOX
from services.notifications.domain.rules import Intent

# Left in the email when the caller passes no link, so a missing link is visible, not silent.
LINK_PLACEHOLDER = "{link}"

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Display names of the built-in instruments; a tenant's own instrument shows its code.
_INSTRUMENT_NAMES = {
    "phq9": "PHQ-9",
    "gad7": "GAD-7",
    "phq2": "PHQ-2",
    "gad2": "GAD-2",
    "who5": "WHO-5",
}


@dataclass(frozen=True)
class Rendered:
    """``title`` is the inbox title or the email subject; ``text`` and ``html`` are the body."""

    title: str
    text: str
    html: str


def instrument_label(code: str | None) -> str:
    if not code:
        return "Questionnaire"
    return _INSTRUMENT_NAMES.get(code, code)


def _parse(value: str | date) -> date:
    """A date stays a date; a time is read as UTC (the wire carries ``...Z``)."""
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc)
    return value


def day(value: str | date) -> str:
    """``"2025-03-03"`` or an RFC 3339 time -> ``"3 March 2025"`` (the UTC date of a time)."""
    parsed = _parse(value)
    return f"{parsed.day} {parsed:%B %Y}"


def moment(value: str | datetime) -> str:
    """An RFC 3339 time -> ``"3 March 2025 14:05 UTC"``."""
    parsed = _parse(value)
    return f"{parsed.day} {parsed:%B %Y %H:%M} UTC"


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(instrument=instrument_label, day=day, moment=moment)


def _block(template: Template, name: str, values: dict[str, Any]) -> str:
    return "".join(template.blocks[name](template.new_context(values)))


def _paragraphs(body: str) -> list[str]:
    return [" ".join(p.split()) for p in body.split("\n\n") if p.strip()]


def render(intent: Intent, channel: str, link: str = LINK_PLACEHOLDER) -> Rendered:
    """Render ``intent`` for ``channel`` (``"inbox"`` or ``"email"``).

    ``link`` is the address email points to (e.g. the app's notification page). It must be opaque:
    an id, never a score or a name. The inbox ignores it. Raises ``ValueError`` for other channels.
    """
    if channel == INBOX:
        template = _env.get_template(f"{INBOX}/{intent.template}.txt")
        values = {
            **intent.context,
            "client_id": intent.client_id,
            "recipient_role": intent.recipient_role,
        }
    elif channel == EMAIL:
        template = _env.get_template(f"{EMAIL}/{intent.priority}.txt")
        values = {}
    else:
        raise ValueError(f"no rendering for channel {channel!r}")

    title = " ".join(_block(template, "title", values).split())
    paragraphs = _paragraphs(_block(template, "body", values))
    layout = {"title": title, "paragraphs": paragraphs, "link": link}
    if channel == INBOX:
        text = "\n\n".join(paragraphs)
    else:
        text = _env.get_template(f"{EMAIL}/_layout.txt").render(layout)
    html = _env.get_template(f"{channel}/_layout.html").render(layout)
    return Rendered(title=title, text=text, html=html)
