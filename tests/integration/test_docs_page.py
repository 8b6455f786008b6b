"""Each service's ``/docs`` draws its whole API in a real browser with the network off.

Headless Chromium (Debian's, installed by scripts/install-tools) loads the page from the service
on loopback. Everything else is cut off: requests that are not to loopback go to a proxy on
127.0.0.1:9, where nothing listens, and no host name resolves. So the page can only work with
what the service serves itself, under the strict Content-Security-Policy it is sent with.
"""
from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from services.goals import config as goals_config
from services.goals.app import create_app as goals_app
from services.notifications import config as notifications_config
from services.notifications.app import create_app as notifications_app
from services.questionnaires import config as questionnaires_config
from services.questionnaires.app import create_app as questionnaires_app
from tests.support.chromium import chromium

pytestmark = pytest.mark.integration

SERVICES = {
    "goals": (goals_config, goals_app),
    "questionnaires": (questionnaires_config, questionnaires_app),
    "notifications": (notifications_config, notifications_app),
}
BLACKHOLE = ("127.0.0.1", 9)
# The old page's stylesheet, on the CDN it came from: with the network off it must not load.
CDN_URL = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.17.14/swagger-ui.css"
OPERATION_ID = re.compile(r'class="opblock-summary-operation-id"[^>]*>([^<]+)<')


def render(url: str, profile: Path) -> tuple[str, str]:
    """The page's DOM once its scripts have run and its requests have finished, and Chromium's log
    (which holds the page's console, Content-Security-Policy violations included)."""
    finished = subprocess.run(
        [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            f"--proxy-server={BLACKHOLE[0]}:{BLACKHOLE[1]}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--enable-logging=stderr", "--v=0",
            # Virtual time runs while the page is idle and stops while requests are pending, so the
            # DOM is dumped after Swagger UI has fetched the document and drawn it, not after a guess.
            "--virtual-time-budget=30000", "--dump-dom", url,
        ],
        capture_output=True, text=True, timeout=180,
    )
    return finished.stdout, finished.stderr


def test_nothing_listens_where_chromium_is_sent_for_the_network():
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex(BLACKHOLE) != 0, f"something listens on {BLACKHOLE}: the network is not off"


def test_with_the_network_off_chromium_cannot_load_from_a_cdn(tmp_path):
    dom, log = render(CDN_URL, tmp_path / "profile")
    assert "swagger-ui" not in dom
    assert re.search(r"net::ERR_(PROXY_CONNECTION_FAILED|NAME_NOT_RESOLVED|TUNNEL_CONNECTION_FAILED)", log), log[-2000:]


@pytest.mark.parametrize("service", SERVICES)
def test_docs_draws_every_operation_offline_under_a_strict_csp(service, harness, tmp_path):
    config, create_app = SERVICES[service]
    base = harness.serve(create_app(settings=harness.settings(config.SERVICE, config.OPTIONS)))
    page = requests.get(base + "/docs", timeout=10)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert not re.search(r'(src|href)="(https?:)?//', page.text), "the page loads nothing from another origin"
    operation_ids = {
        operation["operationId"]
        for item in requests.get(base + "/openapi.json", timeout=10).json()["paths"].values()
        for method, operation in item.items() if method != "parameters"
    }

    dom, log = render(base + "/docs", tmp_path / "profile")

    assert set(OPERATION_ID.findall(dom)) == operation_ids, log[-3000:]
    assert "Content Security Policy" not in log, [line for line in log.splitlines() if "Content Security" in line]
    assert "Failed to load resource" not in log, log[-3000:]


def test_only_swagger_ui_files_are_served_beside_the_page(harness):
    base = harness.serve(goals_app(settings=harness.settings(goals_config.SERVICE, goals_config.OPTIONS)))
    script = requests.get(base + "/docs/assets/swagger-ui-bundle.js", timeout=10)
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    for name in ("LICENSE", "..%2F..%2Fapp.py", "oauth2-redirect.html"):
        refused = requests.get(f"{base}/docs/assets/{name}", timeout=10)
        assert refused.status_code == 404 and refused.headers["Content-Type"] == "application/problem+json", name
