"""The HTTP API: who may read and write what, and bad input that changes nothing."""
from __future__ import annotations

import pytest

from services.notifications import config
from tests.integration.notifications.builders import questionnaire_due, risk_flagged

pytestmark = pytest.mark.integration


def stored(service) -> dict:
    """Everything the API can write, to check that a refused request left it all as it was."""
    names = (config.PREFERENCES, config.MEMBERSHIPS, config.SUBSCRIPTIONS, config.ALERT_EVENTS, config.NOTIFICATIONS)
    return {name: sorted(map(repr, service.database[name].find())) for name in names}


def test_a_client_reads_only_its_own_inbox(service, auth):
    admin = auth("admin", "admin-1")
    assert service.call("PUT", "/v1/tenant/clinicians", admin, json={"clinician_ids": ["ther-1"]}).status_code == 200
    assert service.call("PUT", "/v1/care-teams/client-1", admin, json={"therapist_ids": ["ther-1"]}).status_code == 200
    service.publish(questionnaire_due("client-1"))
    service.publish(questionnaire_due("client-2"))
    service.publish(risk_flagged("client-1"))
    service.wait(lambda: len(service.notifications()) == 3, "three notifications")
    client = auth("client", "client-1")

    [own] = service.call("GET", "/v1/notifications", client).json["items"]
    assert (own["recipient_id"], own["type"], own["read_at"]) == ("client-1", "reminder", None)
    assert service.call("GET", "/v1/notifications?recipient_id=client-2", client).status_code == 403
    assert service.call("GET", "/v1/notifications?recipient_id=ther-1", client).status_code == 403
    [others] = service.notifications(recipient_id="client-2")
    [risk] = service.notifications(recipient_id="ther-1")
    assert service.call("GET", f"/v1/notifications/{others['_id']}", client).status_code == 404
    assert service.call("POST", f"/v1/notifications/{others['_id']}/read", client).status_code == 404
    assert service.call("GET", f"/v1/notifications/{risk['_id']}", client).status_code == 404

    read = service.call("POST", f"/v1/notifications/{own['id']}/read", client)
    assert read.status_code == 200 and read.json["read_at"] == "2025-03-03T10:00:00.000Z"
    service.clock.advance(minutes=5)
    assert service.call("POST", f"/v1/notifications/{own['id']}/read", client).json["read_at"] == "2025-03-03T10:00:00.000Z"
    assert service.call("GET", "/v1/notifications?unread=true", client).json["items"] == []
    assert len(service.call("GET", "/v1/notifications?unread=false", client).json["items"]) == 1

    # An admin may read another person's inbox, but not mark it read for them.
    [theirs] = service.call("GET", "/v1/notifications?recipient_id=client-2", admin).json["items"]
    assert service.call("POST", f"/v1/notifications/{theirs['id']}/read", admin).status_code == 403
    other_clinic = auth("admin", "admin-9", "clinic-b")
    assert service.call("GET", "/v1/notifications?recipient_id=client-2", other_clinic).json["items"] == []
    assert service.call("GET", f"/v1/notifications/{theirs['id']}", other_clinic).status_code == 404


def test_alerts_are_for_staff_of_their_own_tenant(service, auth):
    admin = auth("admin", "admin-1")
    assert service.call("PUT", "/v1/tenant/clinicians", admin, json={"clinician_ids": ["ther-1"]}).status_code == 200
    assert service.call("PUT", "/v1/care-teams/client-1", admin, json={"therapist_ids": ["ther-1"]}).status_code == 200
    event = risk_flagged("client-1")
    service.publish(event)
    alert = service.wait(lambda: service.database[config.ALERTS].find_one({"event_id": event["id"]}), "the alert")
    service.wait(lambda: service.database[config.ALERT_EVENTS].find_one({"alert_id": alert["_id"]}), "its delivery")
    before = stored(service)
    other = auth("therapist", "ther-1", "clinic-b")

    assert service.call("GET", f"/v1/alerts/{alert['_id']}", other).status_code == 404
    assert service.call("POST", f"/v1/alerts/{alert['_id']}/acknowledge", other).status_code == 404
    assert service.call("GET", "/v1/alerts", other).json["items"] == []
    assert service.call("GET", f"/v1/alerts/{alert['_id']}", auth("client", "client-1")).status_code == 403
    assert service.call("POST", f"/v1/alerts/{alert['_id']}/acknowledge", auth("client", "client-1")).status_code == 403
    assert service.call("POST", f"/v1/alerts/{alert['_id']}/acknowledge", auth("service", "bot")).status_code == 403
    assert service.call("GET", "/v1/alerts/no-such-alert", auth("therapist", "ther-1")).status_code == 404
    assert service.call("GET", f"/v1/alerts/{alert['_id']}", {}).status_code == 401
    assert stored(service) == before

    [listed] = service.call("GET", "/v1/alerts?client_id=client-1", auth("therapist", "ther-1")).json["items"]
    assert listed["id"] == alert["_id"]
    assert listed["flags"] == [{"code": "self_harm_risk", "item": "9", "value": 2}]


def test_preferences_are_a_persons_own_and_admins_may_set_them(service, auth):
    client = auth("client", "client-1")
    defaults = service.call("GET", "/v1/preferences/client-1", client).json
    assert defaults == {"user_id": "client-1", "channels": {"inbox": True, "email": False}, "email": None,
                        "quiet_hours": None, "updated_at": None}
    sent_back = {key: defaults[key] for key in ("channels", "email", "quiet_hours")}
    assert service.call("PUT", "/v1/preferences/client-1", client, json=sent_back).status_code == 200
    body = {"channels": {"inbox": True, "email": True}, "email": "c1@home.example",
            "quiet_hours": {"start": "21:30", "end": "08:00", "timezone": "America/New_York"}}
    saved = service.call("PUT", "/v1/preferences/client-1", client, json=body)
    assert saved.status_code == 200
    assert {key: saved.json[key] for key in body} == body
    assert service.call("GET", "/v1/preferences/client-1", client).json == saved.json

    assert service.call("PUT", "/v1/preferences/client-2", client, json=body).status_code == 403
    assert service.call("GET", "/v1/preferences/client-2", client).status_code == 403
    assert service.call("PUT", "/v1/preferences/ther-1", auth("therapist", "ther-2"), json=body).status_code == 403
    assert service.call("PUT", "/v1/preferences/client-2", auth("admin", "admin-1"), json=body).status_code == 200
    assert service.call("GET", "/v1/preferences/client-2", auth("client", "client-2")).json["email"] == "c1@home.example"


@pytest.mark.parametrize(
    "method, path, body, field",
    [
        ("PUT", "/v1/preferences/client-1", {"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Olympus"}},
         "quiet_hours.timezone"),
        ("PUT", "/v1/preferences/client-1", {"quiet_hours": {"start": "25:00", "end": "07:00", "timezone": "UTC"}},
         "quiet_hours.start"),
        ("PUT", "/v1/preferences/client-1", {"email": "no-at-sign"}, "email"),
        ("PUT", "/v1/preferences/client-1", {"channels": {"sms": True}}, "channels.sms"),
        ("PUT", "/v1/preferences/client-1", {"email": "c@h.example", "colour": "blue"}, "colour"),
        ("PUT", "/v1/care-teams/client-1", {"therapist_ids": ["ther-1"], "lead": "ther-1"}, "lead"),
        ("PUT", "/v1/care-teams/client-1", {"therapist_ids": "ther-1"}, "therapist_ids"),
        ("PUT", "/v1/care-teams/client-1", {"therapist_ids": ["client-1"]}, "therapist_ids"),
        ("PUT", "/v1/tenant/admins", {"admin_ids": []}, "admin_ids"),
        ("POST", "/v1/subscriptions", {"url": "ftp://x.example", "event_types": ["#"], "secret": "s" * 20}, "url"),
        ("POST", "/v1/subscriptions", {"url": "https://x.example", "event_types": ["goal.*x"], "secret": "s" * 20},
         "event_types.0"),
        ("POST", "/v1/subscriptions", {"url": "https://x.example", "event_types": [], "secret": "s" * 20}, "event_types"),
        ("POST", "/v1/subscriptions", {"url": "https://x.example", "event_types": ["#"], "secret": "short"}, "secret"),
        ("POST", "/v1/subscriptions", {"url": "https://x.example", "event_types": ["#"], "secret": "s" * 20, "x": 1}, "x"),
        ("GET", "/v1/notifications?unread=maybe", None, "unread"),
        ("GET", "/v1/notifications?limit=0", None, "limit"),
        ("GET", "/v1/alerts?status=lost", None, "status"),
    ],
)
def test_invalid_input_is_422_naming_the_field_and_changes_nothing(service, auth, method, path, body, field):
    admin = auth("admin", "admin-1")
    assert service.call("PUT", "/v1/preferences/client-1", admin, json={"email": "c1@home.example"}).status_code == 200
    before = stored(service)

    response = service.call(method, path, admin, json=body)

    assert response.status_code == 422, response.json
    assert response.content_type == "application/problem+json"
    assert field in response.json["errors"], response.json
    assert stored(service) == before


@pytest.mark.parametrize(
    "path", ["/v1/preferences/client-1", "/v1/care-teams/client-1", "/v1/tenant/admins"]
)
def test_malformed_oversize_and_non_json_bodies_are_refused_and_change_nothing(service, auth, path):
    admin = auth("admin", "admin-1")
    before = stored(service)

    malformed = service.call("PUT", path, admin, data='{"email": ', content_type="application/json")
    oversize = service.call("PUT", path, admin, data='{"email": "' + "x" * 9000 + '"}', content_type="application/json")
    not_json = service.call("PUT", path, admin, data="email=c1@home.example", content_type="application/x-www-form-urlencoded")

    assert [malformed.status_code, oversize.status_code, not_json.status_code] == [400, 413, 415]
    assert all(r.content_type == "application/problem+json" for r in (malformed, oversize, not_json))
    assert stored(service) == before


def test_care_teams_are_replaced_by_staff_and_readable_by_their_client(service, auth):
    therapist = auth("therapist", "ther-1")
    clinicians = {"clinician_ids": ["ther-1", "ther-2", "ther-3"]}
    assert service.call("PUT", "/v1/tenant/clinicians", auth("admin", "admin-1"), json=clinicians).status_code == 200
    assert service.call("PUT", "/v1/care-teams/client-1", therapist, json={"therapist_ids": ["ther-1", "ther-2", "ther-1"]}).json == {
        "client_id": "client-1", "therapist_ids": ["ther-1", "ther-2"]
    }
    assert service.call("PUT", "/v1/care-teams/client-1", therapist, json={"therapist_ids": ["ther-3"]}).json["therapist_ids"] == ["ther-3"]
    assert service.call("GET", "/v1/care-teams/client-1", auth("client", "client-1")).json["therapist_ids"] == ["ther-3"]
    assert service.call("GET", "/v1/care-teams/client-1", auth("client", "client-2")).status_code == 403
    assert service.call("PUT", "/v1/care-teams/client-1", auth("client", "client-1"), json={"therapist_ids": []}).status_code == 403
    assert service.call("GET", "/v1/care-teams/client-1", auth("therapist", "ther-1", "clinic-b")).json["therapist_ids"] == []
    assert service.call("PUT", "/v1/tenant/admins", therapist, json={"admin_ids": ["ther-1"]}).status_code == 403


def test_creating_a_subscription_is_idempotent_with_a_key(service, auth):
    platform = {**auth("service", "platform-1"), "Idempotency-Key": "create-hook-1"}
    body = {"url": "https://hooks.clinic.example/stepwise", "event_types": ["goal.*"], "secret": "s" * 20}

    first = service.call("POST", "/v1/subscriptions", platform, json=body)
    again = service.call("POST", "/v1/subscriptions", platform, json=body)
    changed = service.call("POST", "/v1/subscriptions", platform, json={**body, "event_types": ["#"]})

    assert (first.status_code, again.status_code, changed.status_code) == (201, 201, 409)
    assert first.json == again.json
    assert "Idempotent-Replayed" not in first.headers and again.headers["Idempotent-Replayed"] == "true"
    assert len(service.call("GET", "/v1/subscriptions", platform).json["items"]) == 1
    assert service.call("GET", "/v1/subscriptions", auth("therapist", "ther-1")).status_code == 403
    assert service.call("GET", f"/v1/subscriptions/{first.json['id']}", auth("admin", "a", "clinic-b")).status_code == 404


def test_openapi_lists_every_route_with_its_schemas(service):
    spec = service.call("GET", "/openapi.json", {}).json
    app = service.client.application
    routes = {
        (rule.rule.replace("<", "{").replace(">", "}"), method.lower())
        for rule in app.url_map.iter_rules() if rule.rule.startswith("/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method) for path, operations in spec["paths"].items() if path.startswith("/v1/")
        for method in operations if method != "parameters"
    }
    assert routes == documented
    # the notifications' own (with the clinician roster, secret rotation and deletion), the shared
    # access audit's GET /v1/audit, and the shared data rights (export, erasure, its status)
    assert len(routes) == 21 + 1 + 3
    for path, method in routes:
        operation = spec["paths"][path][method]
        success = next(code for code in operation["responses"] if code.startswith("2"))
        if success != "204":  # a DELETE answers no content
            assert "schema" in operation["responses"][success]["content"]["application/json"], (path, method)
        if method in ("put",) or (method == "post" and path == "/v1/subscriptions"):
            assert "requestBody" in operation, (path, method)
    body = spec["components"]["schemas"]["SubscriptionBody"]
    assert body["properties"]["secret"]["writeOnly"] is True
    assert "secret" not in spec["components"]["schemas"]["Subscription"]["properties"]
