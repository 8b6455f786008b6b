"""The notifications service's pure rules: no database, broker, network or clock.

Everything here takes its inputs (including ``now``) as arguments so the API and the worker can
be wired around it and the rules tested without infrastructure.

- ``events``: reading the CloudEvents envelope (routing key, tenant, required fields).
- ``rules``: which event tells whom what (``intents_for``, ``care_team_additions``), and only
  clinicians on the tenant's roster among a care team (``route``).
- ``rendering``: an intent as inbox or email text (``render``); email carries no clinical detail.
- ``preferences``: channels, email address, quiet hours (``parse_preferences``, ``deliver_at``).
- ``signing``: webhook signatures and subscription patterns (``sign``, ``verify``, ``matches``).
- ``secret_rotation``: which secrets sign a delivery while and after a rotation.
- ``targets``: where a webhook may be sent (https, no credentials, global addresses only).
- ``delivery``: retry schedule, outcome classification, disabling failing subscriptions.
- ``escalation``: the risk alert record and when it goes to the tenant's admins.
"""
