"""The three services' APIs and workers in this process, against the real broker, database and
SMTP server, each with its own database on one exchange, served over real HTTP."""
from __future__ import annotations

import pytest

from scripts.demo import Story
from services.goals import config as goals_config
from services.goals.app import create_app as goals_app
from services.goals.worker import build_worker as goals_worker
from services.notifications import config as notifications_config
from services.notifications.app import create_app as notifications_app
from services.notifications.worker import build_worker as notifications_worker
from services.questionnaires import config as questionnaires_config
from services.questionnaires.app import create_app as questionnaires_app
from services.questionnaires.worker import build_worker as questionnaires_worker


@pytest.fixture
def stack(harness, smtp_server):
    """``(story, mailbox, watch)``: the story's HTTP client, the SMTP server's mailbox, and a
    queue bound to every event published."""
    smtp_url, mailbox = smtp_server
    fast = {"OUTBOX_POLL_SECONDS": "0.05"}
    goals = harness.settings("goals", goals_config.OPTIONS, **fast)
    questionnaires = harness.settings(
        "questionnaires", questionnaires_config.OPTIONS, REMINDER_CHECK_SECONDS="0.5", **fast
    )
    notifications = harness.settings(
        "notifications", notifications_config.OPTIONS, SMTP_URL=smtp_url, DELIVERY_POLL_SECONDS="0.1",
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1", **fast
    )
    for worker in (goals_worker(goals), questionnaires_worker(questionnaires), notifications_worker(notifications)):
        harness.start(worker)
    watch = harness.bind_queue(["#"])
    story = Story(
        goals=harness.serve(goals_app(goals)),
        questionnaires=harness.serve(questionnaires_app(questionnaires)),
        notifications=harness.serve(notifications_app(notifications)),
        jwt_secret=harness.jwt_secret,
        say=lambda line: None,
    )
    return story, mailbox, watch
