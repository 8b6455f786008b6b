"""Code the three Stepwise services share: one way to do each thing.

Configuration, MongoDB access, authentication, problem+json errors, events (envelope, outbox,
publisher, consumer runner), observability and the Flask app factory live here so that a
service package only adds its own domain.
"""
