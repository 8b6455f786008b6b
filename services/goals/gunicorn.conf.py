"""Gunicorn settings for the goals API (shared ones from shared/gunicorn_conf.py)."""
from shared.gunicorn_conf import settings

globals().update(settings("goals", default_port=8001))
