"""A client's story across the three services, over HTTP only.

    scripts/demo                    # against the local stack (scripts/stack), with its JWT_SECRET

A therapist sets a care team and a goal "PHQ-9 below 10 within 12 weeks", and assigns PHQ-9
every 14 days. The client's first PHQ-9 is 16 with item 9 answered 1: the therapist gets an
urgent alert at once. Later responses fall to 8: the goal reaches its target by itself and both
client and therapist get a note.

The end-to-end test (tests/integration/test_journey.py) runs this same story against the real
servers and checks every step, and also subscribes a webhook receiver (``subscribe_webhook``)
and checks the signed events it gets; this script prints what happens, for a newcomer to watch,
and subscribes no webhook (it would need a receiver for the stack to reach).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.auth.devtoken import mint

# Synthetic answers, not anyone's: PHQ-9 items in order, each 0-3.
FIRST_PHQ9 = [2, 2, 2, 2, 2, 2, 2, 1, 1]  # 16, item 9 = 1 (self-harm risk)
LATER_PHQ9 = [
    [2, 1, 2, 1, 2, 1, 1, 1, 0],  # 11
    [1, 1, 1, 1, 1, 1, 1, 1, 0],  # 8
]


@dataclass
class Story:
    """The people and services of the story; ``say`` narrates each step."""

    goals: str
    questionnaires: str
    notifications: str
    jwt_secret: str
    tenant: str = field(default_factory=lambda: f"demo-clinic-{uuid.uuid4().hex[:6]}")
    client: str = "client-ada"
    therapist: str = "therapist-bo"
    admin: str = "admin-cy"
    say: Callable[[str], None] = print
    session: requests.Session = field(default_factory=requests.Session)

    def headers(self, role: str, sub: str) -> dict:
        token = mint(self.jwt_secret, sub=sub, tenant=self.tenant, role=role)
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, url: str, role: str, sub: str, expect: int, **kwargs) -> dict:
        answer = self.session.request(method, url, headers=self.headers(role, sub), timeout=15, **kwargs)
        if answer.status_code != expect:
            raise AssertionError(f"{method} {url} answered {answer.status_code}, not {expect}: {answer.text}")
        return answer.json() if answer.content else {}

    # -- the steps --------------------------------------------------------------------------

    def set_up_the_care_team(self, therapist_email: str, client_email: str) -> None:
        n = self.notifications
        self.call("PUT", f"{n}/v1/tenant/admins", "admin", self.admin, 200, json={"admin_ids": [self.admin]})
        self.call("PUT", f"{n}/v1/tenant/clinicians", "admin", self.admin, 200, json={"clinician_ids": [self.therapist]})
        self.call("PUT", f"{n}/v1/care-teams/{self.client}", "therapist", self.therapist, 200,
                  json={"therapist_ids": [self.therapist]})
        self.call("PUT", f"{n}/v1/preferences/{self.therapist}", "therapist", self.therapist, 200,
                  json={"channels": {"inbox": True, "email": True}, "email": therapist_email})
        self.call("PUT", f"{n}/v1/preferences/{self.client}", "client", self.client, 200,
                  json={"channels": {"inbox": True, "email": True}, "email": client_email})
        self.say(f"care team of {self.client}: {self.therapist}; both have email on")

    def subscribe_webhook(self, url: str, secret: str) -> dict:
        subscription = self.call("POST", f"{self.notifications}/v1/subscriptions", "admin", self.admin, 201,
                                 json={"url": url, "event_types": ["goal.*", "questionnaire.*", "risk.*"],
                                       "secret": secret})
        self.say(f"webhook subscription {subscription['id']} -> {url}")
        return subscription

    def set_the_goal(self, today: date) -> dict:
        goal = self.call("POST", f"{self.goals}/v1/goals", "therapist", self.therapist, 201, json={
            "client_id": self.client,
            "therapist_id": self.therapist,
            "title": "PHQ-9 below 10 within 12 weeks",
            "description": "Bring depression symptoms below the clinical cut-off, measured by PHQ-9.",
            "category": "emotional_wellbeing",
            "measure": {"kind": "instrument", "instrument": "phq9", "unit": "points",
                        "baseline": 16, "target": 9, "direction": "decrease"},
            "start_date": today.isoformat(),
            "target_date": (today + timedelta(weeks=12)).isoformat(),
        })
        self.say(f"goal {goal['id']}: {goal['title']} (status {goal['status']})")
        return goal

    def assign_phq9(self, starts_at: datetime) -> dict:
        assignment = self.call("POST", f"{self.questionnaires}/v1/assignments", "therapist", self.therapist, 201, json={
            "client_id": self.client, "instrument": "phq9", "every_days": 14,
            "starts_at": starts_at.isoformat().replace("+00:00", "Z"),
        })
        self.say(f"PHQ-9 assigned every 14 days: {assignment['id']}")
        return assignment

    def submit_phq9(self, answers: list[int], completed_at: datetime) -> dict:
        response = self.call("POST", f"{self.questionnaires}/v1/responses", "client", self.client, 201, json={
            "client_id": self.client, "instrument": "phq9", "answers": answers,
            "completed_at": completed_at.isoformat().replace("+00:00", "Z"),
        })
        score = response["score"]
        flags = ", ".join(flag["code"] for flag in score["flags"]) or "no flags"
        self.say(f"client submitted PHQ-9: total {score['total']} ({score['severity']}), {flags}")
        return response

    def inbox(self, role: str, user: str) -> list[dict]:
        return self.every(f"{self.notifications}/v1/notifications", role, user, recipient_id=user)

    def alerts(self) -> list[dict]:
        """The client's risk alerts, as its therapist sees them."""
        return self.every(f"{self.notifications}/v1/alerts", "therapist", self.therapist, client_id=self.client)

    def every(self, url: str, role: str, user: str, **query) -> list[dict]:
        """Every item of a list, page after page."""
        items, cursor = [], None
        while True:
            page = self.call("GET", url, role, user, 200,
                             params={**query, "limit": 200, **({"cursor": cursor} if cursor else {})})
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    def goal(self, goal_id: str) -> dict:
        return self.call("GET", f"{self.goals}/v1/goals/{goal_id}", "therapist", self.therapist, 200)


def wait_for(condition: Callable[[], object], timeout: float = 10.0, every: float = 0.05, what: str = "condition"):
    """Poll ``condition`` until it returns something truthy; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--goals", default="http://127.0.0.1:8001")
    parser.add_argument("--questionnaires", default="http://127.0.0.1:8002")
    parser.add_argument("--notifications", default="http://127.0.0.1:8003")
    args = parser.parse_args()
    secret = os.environ.get("JWT_SECRET", "change-me-dev-only-not-a-real-secret")
    story = Story(args.goals, args.questionnaires, args.notifications, secret)
    # The story began four weeks ago (answers cannot be dated in the future); the last response is now.
    began = datetime.now(timezone.utc) - timedelta(weeks=len(LATER_PHQ9) * 2)

    story.say(f"tenant {story.tenant}")
    story.set_up_the_care_team("bo@clinic.example", "ada@client.example")
    goal = story.set_the_goal(began.date())
    story.assign_phq9(began)
    story.submit_phq9(FIRST_PHQ9, began)
    alert = wait_for(
        lambda: [n for n in story.inbox("therapist", story.therapist) if n["type"] == "risk_alert"],
        timeout=30, what="the therapist's urgent alert",
    )[0]
    story.say(f"therapist inbox: [{alert['priority']}] {alert['title']}")
    for weeks, answers in enumerate(LATER_PHQ9, start=2):
        story.submit_phq9(answers, min(began + timedelta(weeks=weeks), datetime.now(timezone.utc)))
    achieved = wait_for(lambda: story.goal(goal["id"])["status"] == "achieved" and story.goal(goal["id"]),
                      timeout=30, what="the goal to be achieved")
    story.say(f"goal is {achieved['status']}: progress {achieved['progress']}")

    def achieved_notes(role: str, user: str) -> list[dict]:
        return [n for n in story.inbox(role, user) if n["type"] == "goal_achieved"]

    for role, user in (("client", story.client), ("therapist", story.therapist)):
        note = wait_for(partial(achieved_notes, role, user), timeout=30, what=f"the {role}'s note")[0]
        story.say(f"{role} inbox: {note['title']}")
    story.say("emails went to the stack's SMTP server: see .local/logs/smtp.log (or Mailpit, with Docker)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
