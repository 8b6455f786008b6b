"""Writes the Grafana dashboards in deploy/observability/dashboards/ (one per service, one for
the risk-alert path) from the panel lists below, so that the services' dashboards share one shape
and a change is made once:

    python deploy/observability/dashboards.py          # rewrite the JSON files
    python deploy/observability/dashboards.py --check  # exit 1 when a file differs from its source

Every query selects a service's targets through the ``job`` variable, which lists the scrape jobs
whose ``stepwise_build_info`` names the service (its API and its worker), so the dashboards work
whatever the deployment calls its jobs. tests/test_observability.py checks that the files are
up to date and that every metric they read is one a service exports.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "dashboards"
SERVICES = ("goals", "questionnaires", "notifications")
J = 'job=~"$job"'
RISK_QUEUE = 'queue=~".*\\\\.notifications\\\\.risk"'


def panel(title: str, unit: str, *targets: tuple[str, str], description: str = "", kind: str = "timeseries") -> dict:
    """A panel: ``targets`` are (PromQL, legend) pairs."""
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i)}
                    for i, (expr, legend) in enumerate(targets)],
    }


def row(title: str, *panels: dict) -> list[dict]:
    return [{"type": "row", "title": title, "collapsed": False, "panels": []}, *panels]


def api_row() -> list[dict]:
    return row(
        "API",
        panel("Requests by status", "reqps",
              (f"sum by (status) (rate(stepwise_http_requests_total{{{J}}}[5m]))", "{{status}}")),
        panel("5xx share of requests", "percentunit",
              (f'sum(rate(stepwise_http_requests_total{{{J},status=~"5.."}}[5m])) '
               f"/ sum(rate(stepwise_http_requests_total{{{J}}}[5m]))", "5xx")),
        panel("Request time p95 by route", "s",
              (f"histogram_quantile(0.95, sum by (le, route) (rate(stepwise_http_request_duration_seconds_bucket{{{J}}}[5m])))",
               "{{route}}")),
    )


def events_row() -> list[dict]:
    return row(
        "Events",
        panel("Published and unroutable events", "ops",
              (f"sum by (type) (rate(stepwise_events_published_total{{{J}}}[5m]))", "published {{type}}"),
              (f"sum by (type) (rate(stepwise_events_unroutable_total{{{J}}}[5m]))", "unroutable {{type}}")),
        panel("Outbox: waiting events and the oldest one's age", "short",
              (f"max(stepwise_outbox_backlog{{{J}}})", "waiting"),
              (f"max(stepwise_outbox_oldest_event_age_seconds{{{J}}})", "oldest (s)")),
        panel("Events handled, duplicates, retried, dead-lettered", "ops",
              (f"sum by (consumer, outcome) (rate(stepwise_events_consumed_total{{{J}}}[5m]))", "{{consumer}} {{outcome}}"),
              (f"sum by (consumer) (rate(stepwise_events_retried_total{{{J}}}[5m]))", "{{consumer}} retried"),
              (f"sum by (consumer) (rate(stepwise_events_dead_lettered_total{{{J}}}[5m]))", "{{consumer}} dead-lettered")),
        panel("Handler time p95 by event type", "s",
              (f"histogram_quantile(0.95, sum by (le, consumer, type) "
               f"(rate(stepwise_event_handler_duration_seconds_bucket{{{J}}}[5m])))", "{{consumer}} {{type}}")),
        panel("Consumer lag (oldest event of the last batch taken)", "s",
              (f"max by (consumer) (stepwise_consumer_lag_seconds{{{J}}})", "{{consumer}}")),
        panel("Event age when consumed, p95", "s",
              (f"histogram_quantile(0.95, sum by (le, consumer) (rate(stepwise_event_age_seconds_bucket{{{J}}}[5m])))",
               "{{consumer}}")),
        panel("Queues: waiting messages, dead letters, consumers", "short",
              (f"max by (queue) (stepwise_queue_messages{{{J}}})", "{{queue}} waiting"),
              (f"max by (queue) (stepwise_dead_letter_messages{{{J}}})", "{{queue}} dead letters"),
              (f"max by (queue) (stepwise_queue_consumers{{{J}}})", "{{queue}} consumers")),
    )


def jobs_row() -> list[dict]:
    return row(
        "Periodic jobs and build",
        panel("Seconds since each job's last success", "s",
              (f"time() - max by (name) (stepwise_job_last_success_timestamp_seconds{{{J}}})", "{{name}}"),
              description="A job runs every stepwise_job_interval_seconds; the PeriodicJobStale alert fires "
                          "after three missed runs."),
        panel("What runs", "short",
              (f"stepwise_build_info{{{J}}}", "{{instance}} {{version}} {{revision}}"), kind="table"),
    )


def notifications_row() -> list[dict]:
    return row(
        "Deliveries",
        panel("Delivery attempts by channel and outcome", "ops",
              (f"sum by (channel, outcome) (rate(stepwise_notification_delivery_attempts_total{{{J}}}[5m]))",
               "{{channel}} {{outcome}}")),
        panel("Webhook subscriptions disabled", "short",
              (f"sum(increase(stepwise_webhook_subscriptions_disabled_total{{{J}}}[1h]))", "disabled in the last hour")),
    )


def risk_alert_panels() -> list[dict]:
    return [
        *row(
            "Risk alerts",
            panel("Alerts raised, escalated, with nobody to tell", "short",
                  (f"sum(increase(stepwise_risk_alerts_raised_total{{{J}}}[1h]))", "raised (1 h)"),
                  (f"sum(increase(stepwise_risk_alerts_escalated_total{{{J}}}[1h]))", "escalated (1 h)"),
                  (f"sum(increase(stepwise_risk_alerts_unrouted_total{{{J}}}[1h]))", "nobody to tell (1 h)")),
            panel("Stored to inbox (p50, p95, p99)", "s",
                  *((f"histogram_quantile({q}, sum by (le) (rate(stepwise_risk_alert_latency_seconds_bucket{{{J}}}[15m])))",
                     f"p{round(q * 100)}") for q in (0.5, 0.95, 0.99)),
                  description="From the risky response being stored to the alert in the clinicians' inboxes."),
            panel("Inbox to acknowledged (p50, p95)", "s",
                  *((f"histogram_quantile({q}, sum by (le) "
                     f"(rate(stepwise_risk_alert_acknowledge_delay_seconds_bucket{{{J}}}[1h])))", f"p{round(q * 100)}")
                    for q in (0.5, 0.95))),
            panel("Unacknowledged alerts by how long they have waited", "short",
                  (f"max by (older_than_seconds) (stepwise_risk_alerts_unacknowledged{{{J}}})",
                   "waiting >= {{older_than_seconds}} s")),
            panel("Oldest unacknowledged alert", "s",
                  (f"max(stepwise_risk_alert_oldest_unacknowledged_age_seconds{{{J}}})", "oldest"), kind="stat"),
        ),
        *row(
            "The risk queue",
            panel("notifications.risk: waiting, dead letters, consumers", "short",
                  (f"max(stepwise_queue_messages{{{J},{RISK_QUEUE}}})", "waiting"),
                  (f"max(stepwise_dead_letter_messages{{{J},{RISK_QUEUE}}})", "dead letters"),
                  (f"max(stepwise_queue_consumers{{{J},{RISK_QUEUE}}})", "consumers")),
            panel("notifications.risk: consumer lag and handler time p95", "s",
                  (f'max(stepwise_consumer_lag_seconds{{{J},consumer="notifications.risk"}})', "lag"),
                  (f"histogram_quantile(0.95, sum by (le) (rate(stepwise_event_handler_duration_seconds_bucket"
                   f'{{{J},consumer="notifications.risk"}}[15m])))', "handler p95")),
            panel("Urgent emails by outcome", "ops",
                  (f'sum by (outcome) (rate(stepwise_notification_delivery_attempts_total{{{J},channel="email"}}[5m]))',
                   "{{outcome}}")),
            panel("Escalation job: seconds since its last success", "s",
                  (f'time() - max(stepwise_job_last_success_timestamp_seconds{{{J},name="escalations"}})', "escalations")),
        ),
    ]


def laid_out(panels: list[dict]) -> list[dict]:
    """Grid positions: a row takes a line, panels two to a line below it."""
    y, x, placed = 0, 0, []
    for number, item in enumerate(panels, start=1):
        item = {"id": number, **item}
        if item["type"] == "row":
            y, x = y + (8 if x else 0), 0
            item["gridPos"] = {"h": 1, "w": 24, "x": 0, "y": y}
            y += 1
        else:
            item["gridPos"] = {"h": 8, "w": 12, "x": x, "y": y}
            x = 12 - x
            y += 8 if x == 0 else 0
        placed.append(item)
    return placed


def dashboard(uid: str, title: str, service: str, panels: list[dict]) -> dict:
    return {
        "uid": uid,
        "title": title,
        "tags": ["stepwise", service],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": [
            {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus"},
            {"name": "job", "label": "Scrape jobs", "type": "query",
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": f'label_values(stepwise_build_info{{service_name="{service}"}}, job)',
             "definition": f'label_values(stepwise_build_info{{service_name="{service}"}}, job)',
             "multi": True, "includeAll": True, "current": {"text": "All", "value": "$__all"}, "refresh": 2},
        ]},
        "panels": laid_out(panels),
    }


def dashboards() -> dict[str, dict]:
    """File name -> dashboard."""
    made = {}
    for service in SERVICES:
        rows = [*api_row(), *events_row(), *(notifications_row() if service == "notifications" else []), *jobs_row()]
        made[f"stepwise-{service}.json"] = dashboard(f"stepwise-{service}", f"Stepwise: {service}", service, rows)
    made["stepwise-risk-alerts.json"] = dashboard(
        "stepwise-risk-alerts", "Stepwise: the risk-alert path", "notifications", risk_alert_panels())
    return made


def rendered(board: dict) -> str:
    return json.dumps(board, indent=2) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    OUT.mkdir(exist_ok=True)
    for name, board in dashboards().items():
        path = OUT / name
        if "--check" in argv:
            if not path.exists() or path.read_text() != rendered(board):
                stale.append(name)
        else:
            path.write_text(rendered(board))
    if stale:
        print(f"out of date (run python deploy/observability/dashboards.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
