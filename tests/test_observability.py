"""deploy/observability/: the alert rules pass promtool's checks and their unit tests, every rule
links a runbook paragraph that exists, the dashboards are what their source writes, and every
dashboard query is valid PromQL. (That every metric they read is exported is checked against
the real endpoints in tests/integration/test_metrics.py.)"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import yaml

from tests.support.metrics import promtool_run
from tests.support.observability import DASHBOARDS, OBSERVABILITY, ROOT, RULE_TESTS, RULES, alert_rules, dashboard_queries

RUNBOOK = ROOT / "docs" / "RUNBOOK.md"


def test_promtool_checks_the_alert_rules():
    result = promtool_run("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_pass_their_unit_tests():
    result = promtool_run("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_and_a_runbook_paragraph():
    tested = {case["alertname"] for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for case in test.get("alert_rule_test", []) if case["exp_alerts"]}
    # GitHub's anchors: a heading lower-cased, without punctuation.
    anchors = {re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
               for line in RUNBOOK.read_text().splitlines() if line.startswith("#")}
    for rule in alert_rules():
        assert rule["alert"] in tested, f"{rule['alert']} never fires in {RULE_TESTS.name}"
        url = rule["annotations"]["runbook_url"]
        assert url == f"docs/RUNBOOK.md#{rule['alert'].lower()}", rule["alert"]
        assert url.split("#")[1] in anchors, f"docs/RUNBOOK.md has no heading for {rule['alert']}"
        assert {"summary", "runbook_url"} <= set(rule["annotations"]) and rule["labels"]["severity"] in ("warning", "critical")


def test_the_dashboards_are_what_their_source_writes():
    result = subprocess.run([sys.executable, str(OBSERVABILITY / "dashboards.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert {path.name for path in DASHBOARDS} == {
        "stepwise-goals.json", "stepwise-questionnaires.json", "stepwise-notifications.json", "stepwise-risk-alerts.json"}


def test_every_dashboard_query_is_valid_promql(tmp_path):
    # promtool parses queries in rule files: each panel's query becomes a recording rule, with the
    # dashboard's $job variable as Grafana would expand it.
    rules = [{"record": f"dashboard:query:{number}", "expr": query.replace("$job", ".*")}
             for number, query in enumerate(q for queries in dashboard_queries().values() for q in queries)]
    assert rules
    path = tmp_path / "dashboards.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = promtool_run("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dashboard_selects_its_service_through_build_info():
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        [variable] = [v for v in board["templating"]["list"] if v["name"] == "job"]
        assert variable["query"].startswith("label_values(stepwise_build_info{service_name="), path.name
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                assert 'job=~"$job"' in target["expr"], (path.name, target["expr"])
