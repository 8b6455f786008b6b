"""Gunicorn settings for the questionnaires API (shared ones from shared/gunicorn_conf.py)."""
from shared.gunicorn_conf import settings

globals().update(settings("questionnaires", default_port=8002))
