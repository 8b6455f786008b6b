"""The HTTP API (Flask's test client): who may read and write what, and bad input that changes
nothing. Alerts and notifications come from the rules handler, called as the worker calls it."""
from __future__ import annotations

import pytest

from services.notifications import config
from tests.support.notifications import questionnaire_due, risk_flagged

pytestmark = pytest.mark.service


def stored(database) -> dict:
    """Everything the API can write, to check that a refused request left it all as it was."""
    names = (config.PREFERENCES, config.MEMBERSHIPS, config.SUBSCRIPTIONS, config.ALERT_EVENTS, config.NOTIFICATIONS)
    return {name: sorted(map(repr, database[name].find())) for name in names}


def test_a_client_reads_only_its_own_inbox(api, database, rules, clock, auth):
    admin = auth("admin", "admin-1")
    assert api.call("PUT", "/v1/tenant/clinicians", headers=admin, json={"clinician_ids": ["ther-1"]}).status_code == 200
    assert api.call("PUT", "/v1/care-teams/client-1", headers=admin, json={"therapist_ids": ["ther-1"]}).status_code == 200
    for event in (questionnaire_due("client-1"), questionnaire_due("client-2"), risk_flagged("client-1")):
        rules(event)
    assert database[config.NOTIFICATIONS].count_documents({}) == 3
    client = auth("client", "client-1")

    [own] = api.call("GET", "/v1/notifications", headers=client).json["items"]
    assert (own["recipient_id"], own["type"], own["read_at"]) == ("client-1", "reminder", None)
    assert api.call("GET", "/v1/notifications?recipient_id=client-2", headers=client).status_code == 403
    assert api.call("GET", "/v1/notifications?recipient_id=ther-1", headers=client).status_code == 403
    [others] = database[config.NOTIFICATIONS].find({"recipient_id": "client-2"})
    [risk] = database[config.NOTIFICATIONS].find({"recipient_id": "ther-1"})
    assert api.call("GET", f"/v1/notifications/{others['_id']}", headers=client).status_code == 404
    assert api.call("POST", f"/v1/notifications/{others['_id']}/read", headers=client).status_code == 404
    assert api.call("GET", f"/v1/notifications/{risk['_id']}", headers=client).status_code == 404

    read = api.call("POST", f"/v1/notifications/{own['id']}/read", headers=client)
    assert read.status_code == 200 and read.json["read_at"] == "2025-03-03T10:00:00.000Z"
    clock.advance(minutes=5)
    assert api.call("POST", f"/v1/notifications/{own['id']}/read", headers=client).json["read_at"] == "2025-03-03T10:00:00.000Z"
    assert api.call("GET", "/v1/notifications?unread=true", headers=client).json["items"] == []
    assert len(api.call("GET", "/v1/notifications?unread=false", headers=client).json["items"]) == 1

    # An admin may read another person's inbox, but not mark it read for them.
    [theirs] = api.call("GET", "/v1/notifications?recipient_id=client-2", headers=admin).json["items"]
    assert api.call("POST", f"/v1/notifications/{theirs['id']}/read", headers=admin).status_code == 403
    other_clinic = auth("admin", "admin-9", "clinic-b")
    assert api.call("GET", "/v1/notifications?recipient_id=client-2", headers=other_clinic).json["items"] == []
    assert api.call("GET", f"/v1/notifications/{theirs['id']}", headers=other_clinic).status_code == 404


def test_alerts_are_for_staff_of_their_own_tenant(api, database, rules, auth):
    admin = auth("admin", "admin-1")
    assert api.call("PUT", "/v1/tenant/clinicians", headers=admin, json={"clinician_ids": ["ther-1"]}).status_code == 200
    assert api.call("PUT", "/v1/care-teams/client-1", headers=admin, json={"therapist_ids": ["ther-1"]}).status_code == 200
    event = risk_flagged("client-1")
    rules(event)
    alert = database[config.ALERTS].find_one({"event_id": event["id"]})
    before = stored(database)
    other = auth("therapist", "ther-1", "clinic-b")

    assert api.call("GET", f"/v1/alerts/{alert['_id']}", headers=other).status_code == 404
    assert api.call("POST", f"/v1/alerts/{alert['_id']}/acknowledge", headers=other).status_code == 404
    assert api.call("GET", "/v1/alerts", headers=other).json["items"] == []
    assert api.call("GET", f"/v1/alerts/{alert['_id']}", headers=auth("client", "client-1")).status_code == 403
    assert api.call("POST", f"/v1/alerts/{alert['_id']}/acknowledge", headers=auth("client", "client-1")).status_code == 403
    assert api.call("POST", f"/v1/alerts/{alert['_id']}/acknowledge", headers=auth("service", "bot")).status_code == 403
    assert api.call("GET", "/v1/alerts/no-such-alert", headers=auth("therapist", "ther-1")).status_code == 404
    assert api.call("GET", f"/v1/alerts/{alert['_id']}", headers={}).status_code == 401
    assert stored(database) == before

    [listed] = api.call("GET", "/v1/alerts?client_id=client-1", headers=auth("therapist", "ther-1")).json["items"]
    assert listed["id"] == alert["_id"]
    assert listed["flags"] == [{"code": "self_harm_risk", "item": "9", "value": 2}]


def test_preferences_are_a_persons_own_and_admins_may_set_them(api, database, auth):
    client = auth("client", "client-1")
    defaults = api.call("GET", "/v1/preferences/client-1", headers=client).json
    assert defaults == {"user_id": "client-1", "channels": {"inbox": True, "email": False}, "email": None,
                        "quiet_hours": None, "updated_at": None}
    sent_back = {key: defaults[key] for key in ("channels", "email", "quiet_hours")}
    assert api.call("PUT", "/v1/preferences/client-1", headers=client, json=sent_back).status_code == 200
    body = {"channels": {"inbox": True, "email": True}, "email": "c1@home.example",
            "quiet_hours": {"start": "21:30", "end": "08:00", "timezone": "America/New_York"}}
    saved = api.call("PUT", "/v1/preferences/client-1", headers=client, json=body)
    assert saved.status_code == 200
    assert {key: saved.json[key] for key in body} == body
    assert api.call("GET", "/v1/preferences/client-1", headers=client).json == saved.json

    assert api.call("PUT", "/v1/preferences/client-2", headers=client, json=body).status_code == 403
    assert api.call("GET", "/v1/preferences/client-2", headers=client).status_code == 403
    assert api.call("PUT", "/v1/preferences/ther-1", headers=auth("therapist", "ther-2"), json=body).status_code == 403
    assert api.call("PUT", "/v1/preferences/client-2", headers=auth("admin", "admin-1"), json=body).status_code == 200
    assert api.call("GET", "/v1/preferences/client-2", headers=auth("client", "client-2")).json["email"] == "c1@home.example"


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
def test_invalid_input_is_422_naming_the_field_and_changes_nothing(api, database, auth, method, path, body, field):
    admin = auth("admin", "admin-1")
    assert api.call("PUT", "/v1/preferences/client-1", headers=admin, json={"email": "c1@home.example"}).status_code == 200
    before = stored(database)

    response = api.call(method, path, headers=admin, json=body)

    assert response.status_code == 422, response.json
    assert response.content_type == "application/problem+json"
    assert field in response.json["errors"], response.json
    assert stored(database) == before


@pytest.mark.parametrize(
    "path", ["/v1/preferences/client-1", "/v1/care-teams/client-1", "/v1/tenant/admins"]
)
def test_malformed_oversize_and_non_json_bodies_are_refused_and_change_nothing(api, database, auth, path):
    admin = auth("admin", "admin-1")
    before = stored(database)

    malformed = api.call("PUT", path, headers=admin, data='{"email": ', content_type="application/json")
    oversize = api.call("PUT", path, headers=admin, data='{"email": "' + "x" * 9000 + '"}', content_type="application/json")
    not_json = api.call("PUT", path, headers=admin, data="email=c1@home.example", content_type="application/x-www-form-urlencoded")

    assert [malformed.status_code, oversize.status_code, not_json.status_code] == [400, 413, 415]
    assert all(r.content_type == "application/problem+json" for r in (malformed, oversize, not_json))
    assert stored(database) == before


def test_care_teams_are_replaced_by_staff_and_readable_by_their_client(api, database, auth):
    therapist = auth("therapist", "ther-1")
    clinicians = {"clinician_ids": ["ther-1", "ther-2", "ther-3"]}
    assert api.call("PUT", "/v1/tenant/clinicians", headers=auth("admin", "admin-1"), json=clinicians).status_code == 200
    assert api.call("PUT", "/v1/care-teams/client-1", headers=therapist, json={"therapist_ids": ["ther-1", "ther-2", "ther-1"]}).json == {
        "client_id": "client-1", "therapist_ids": ["ther-1", "ther-2"]
    }
    assert api.call("PUT", "/v1/care-teams/client-1", headers=therapist, json={"therapist_ids": ["ther-3"]}).json["therapist_ids"] == ["ther-3"]
    assert api.call("GET", "/v1/care-teams/client-1", headers=auth("client", "client-1")).json["therapist_ids"] == ["ther-3"]
    assert api.call("GET", "/v1/care-teams/client-1", headers=auth("client", "client-2")).status_code == 403
    assert api.call("PUT", "/v1/care-teams/client-1", headers=auth("client", "client-1"), json={"therapist_ids": []}).status_code == 403
    assert api.call("GET", "/v1/care-teams/client-1", headers=auth("therapist", "ther-1", "clinic-b")).json["therapist_ids"] == []
    assert api.call("PUT", "/v1/tenant/admins", headers=therapist, json={"admin_ids": ["ther-1"]}).status_code == 403


def test_creating_a_subscription_is_idempotent_with_a_key(api, database, auth):
    platform = {**auth("service", "platform-1"), "Idempotency-Key": "create-hook-1"}
    body = {"url": "https://hooks.clinic.example/stepwise", "event_types": ["goal.*"], "secret": "s" * 20}

    first = api.call("POST", "/v1/subscriptions", headers=platform, json=body)
    again = api.call("POST", "/v1/subscriptions", headers=platform, json=body)
    changed = api.call("POST", "/v1/subscriptions", headers=platform, json={**body, "event_types": ["#"]})

    assert (first.status_code, again.status_code, changed.status_code) == (201, 201, 409)
    assert first.json == again.json
    assert "Idempotent-Replayed" not in first.headers and again.headers["Idempotent-Replayed"] == "true"
    assert len(api.call("GET", "/v1/subscriptions", headers=platform).json["items"]) == 1
    assert api.call("GET", "/v1/subscriptions", headers=auth("therapist", "ther-1")).status_code == 403
    assert api.call("GET", f"/v1/subscriptions/{first.json['id']}", headers=auth("admin", "a", "clinic-b")).status_code == 404


def test_openapi_lists_every_route_with_its_schemas(api, app):
    spec = api.call("GET", "/openapi.json", headers={}).json
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
