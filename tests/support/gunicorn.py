"""The services' gunicorn settings, read in a test without their side effect on the test process."""
from __future__ import annotations

import os

from shared.gunicorn_conf import settings

MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"


def graceful_timeout() -> float:
    """gunicorn's graceful timeout as the services configure it. Reading the settings sets
    ``PROMETHEUS_MULTIPROC_DIR`` for gunicorn's sake; left set in the test process, it would make
    later in-process scrapes read metric files that in-process metrics were never written to."""
    saved = os.environ.get(MULTIPROC)
    try:
        return settings("goals", default_port=8001)["graceful_timeout"]
    finally:
        if saved is None:
            os.environ.pop(MULTIPROC, None)
        else:
            os.environ[MULTIPROC] = saved
