"""The channels a notification or an event reaches people by.

``inbox`` and ``email`` are a person's own (their preferences choose between them); a
``webhook`` is a tenant's subscription to events, so it is no one's preference.
"""

INBOX = "inbox"
EMAIL = "email"
WEBHOOK = "webhook"
PERSONAL_CHANNELS = (INBOX, EMAIL)
