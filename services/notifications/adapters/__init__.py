"""The notifications service's edge: MongoDB repositories, the SMTP sender, the webhook client.

Repositories read and write through ``shared.mongo.ScopedCollection``; the periodic jobs, which
work across tenants, open a repository per record with that record's own tenant.
"""
