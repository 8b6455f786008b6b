"""Sending email over SMTP (``SMTP_URL``: ``smtp://[user:password@]host[:port]``, or ``smtps://``
for TLS from the start; ``smtp://`` upgrades with STARTTLS when the server offers it).

A send answers the SMTP reply code, which ``domain.delivery.classify_smtp`` turns into an
outcome (4xx try again, 5xx give up), or ``None`` when no server answered. Errors are reported
by class and code only: the server's text may quote the message or the address.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import unquote, urlparse

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class SendResult:
    code: int | None
    error: str | None = None


def build_message(email: Email, sender: str, sent_at: datetime) -> EmailMessage:
    """The message as sent. ``Date`` is required by RFC 5322 (3.6): without it mail clients
    sort the message by when it arrived, and some spam filters mark it down."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(domain="stepwise")
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


class SmtpSender:
    def __init__(self, url: str | None, sender: str, timeout: float):
        self.url = url
        self.sender = sender
        self.timeout = timeout

    def _connect(self, url: str) -> smtplib.SMTP:
        parsed = urlparse(url)
        # No host: smtplib opens no connection, and the first command fails as one that did not.
        host = parsed.hostname or ""
        port = parsed.port or DEFAULT_PORTS[parsed.scheme]
        if parsed.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=self.timeout,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, port, timeout=self.timeout)
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        if parsed.username:
            client.login(unquote(parsed.username), unquote(parsed.password or ""))
        return client

    def send(self, email: Email) -> SendResult:
        if not self.url:
            return SendResult(None, "SMTP_URL is not set")
        try:
            client = self._connect(self.url)
            try:
                client.send_message(build_message(email, self.sender, datetime.now(timezone.utc)))
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return SendResult(codes[0] if codes else None, "SMTPRecipientsRefused")
        except smtplib.SMTPResponseException as exc:
            return SendResult(exc.smtp_code, exc.__class__.__name__)
        except (smtplib.SMTPException, OSError) as exc:
            return SendResult(None, exc.__class__.__name__)
        return SendResult(250)
