"""What deploy/observability/ holds: the dashboards' and the alert rules' queries."""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
RULES = OBSERVABILITY / "rules" / "stepwise.rules.yaml"
RULE_TESTS = OBSERVABILITY / "rules" / "stepwise.rules.test.yaml"
DASHBOARDS = sorted((OBSERVABILITY / "dashboards").glob("*.json"))
# A series a service exports (Prometheus' own `up` is not one).
METRIC = re.compile(r"\bstepwise_[a-z0-9_]+\b")


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard_queries() -> dict[str, list[str]]:
    """Dashboard file name -> the query of every panel target."""
    return {path.name: [target["expr"] for panel in json.loads(path.read_text())["panels"]
                        for target in panel.get("targets", [])]
            for path in DASHBOARDS}


def metric_names_used() -> set[str]:
    """Every ``stepwise_*`` series a dashboard panel or an alert rule reads."""
    queries = [rule["expr"] for rule in alert_rules()]
    queries += [query for board in dashboard_queries().values() for query in board]
    return {name for query in queries for name in METRIC.findall(query)}
