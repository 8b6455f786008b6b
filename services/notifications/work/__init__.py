"""What the notifications worker does: its two consumers and its three periodic jobs.

- ``rules_consumer``: events -> care team additions, notifications, risk alerts (``notifications.rules``).
- ``webhook_fanout``: every event -> one webhook delivery per matching subscription (``notifications.webhooks``).
- ``notifier``: intents -> notification records, the inbox delivery, email deliveries.
- ``delivery_job``: due email and webhook deliveries -> claimed, attempted, recorded, retried.
- ``escalation_job``: overdue unacknowledged alerts -> the tenant's admins, once.
"""
