"""Gunicorn settings for the notifications API (shared ones from shared/gunicorn_conf.py)."""
from shared.gunicorn_conf import settings

globals().update(settings("notifications", default_port=8003))
