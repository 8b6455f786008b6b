"""No secret in any log line or error: each service's app and worker, started with bad settings
(which must stop them, naming the variable) and with good ones holding passwords (which they use),
never write a secret value; a URL's password is redacted wherever it is logged."""
from __future__ import annotations

import importlib
import logging
from urllib.parse import urlsplit

import pytest
import requests

from shared.config import ConfigError
from shared.worker import main as worker_main
from tests.support.harness import wait_for
from tests.support.peers import free_port

pytestmark = pytest.mark.integration

SERVICES = ("goals", "questionnaires", "notifications")
# Every secret below holds this, so one search finds any of them in what was written.
MARK = "Zq7-not-for-logs"


def modules(service: str):
    return (importlib.import_module(f"services.{service}.{name}") for name in ("config", "app", "worker"))


BAD = {
    "JWT_SECRET": f"short-{MARK}",
    "MONGO_URL": f"mongodb://stepwise:{MARK}@db:port/",
    "AMQP_URL": f"amqp://stepwise:{MARK}@rabbit/%2F?heartbeat={MARK}",
    "SMTP_URL": f"smtp://mailer:{MARK}@mail:port",
}


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("variable", sorted(BAD))
def test_a_bad_secret_stops_app_and_worker_naming_the_variable_not_the_value(
    harness, monkeypatch, capfd, service, variable
):
    config, app, worker = modules(service)
    for name, value in {**harness.env(service), variable: BAD[variable]}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        app.create_app()
    assert variable in str(caught.value) and MARK not in str(caught.value)
    with pytest.raises(SystemExit) as stopped:
        worker_main(worker.build_worker, config.SERVICE)
    assert stopped.value.code == 2
    logged = capfd.readouterr()
    assert f"configuration error: {variable} is invalid" in logged.err
    assert MARK not in logged.err + logged.out


@pytest.mark.parametrize("service", SERVICES)
def test_both_a_secret_and_its_file_stop_start_up_without_showing_either(harness, monkeypatch, tmp_path, capfd, service):
    config, _app, worker = modules(service)
    secret_file = tmp_path / "jwt"
    secret_file.write_text(f"{MARK}-{'s' * 32}\n")
    for name, value in {**harness.env(service), "JWT_SECRET": f"{MARK}-{'t' * 32}",
                        "JWT_SECRET_FILE": str(secret_file)}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit):
        worker_main(worker.build_worker, config.SERVICE)
    logged = capfd.readouterr().err
    assert "JWT_SECRET and JWT_SECRET_FILE are both set" in logged
    assert MARK not in logged


@pytest.mark.parametrize("service", SERVICES)
def test_running_with_passwords_in_every_url_logs_none_of_them(harness, token, capfd, tmp_path, service):
    config, app, worker = modules(service)
    secret_file = tmp_path / "jwt"
    secret_file.write_text(harness.jwt_secret + "\n")
    mongo = urlsplit(harness.mongo_url)
    passwords = {
        # FerretDB here refuses any login, RabbitMQ this password: both are used and fail.
        "MONGO_URL": f"mongodb://stepwise:{MARK}@{mongo.hostname}:{mongo.port}/?authSource=admin",
        # Two addresses (a cluster's list), both tried and refused.
        "AMQP_URL": ",".join([harness.amqp_url.replace("guest:guest@", f"guest:{MARK}@")] * 2),
        "SMTP_URL": f"smtp://mailer:{MARK}@127.0.0.1:{free_port()}",
    }
    settings = harness.settings(service, config.OPTIONS, LOG_LEVEL="INFO", JWT_SECRET="",
                                JWT_SECRET_FILE=str(secret_file), **passwords)
    assert MARK not in repr(settings)
    url = harness.serve(app.create_app(settings=settings))
    answers = [
        requests.get(f"{url}/readyz", timeout=30),
        requests.get(f"{url}/v1/{_a_list(service)}", timeout=30,
                     headers={"Authorization": f"Bearer {token('admin', 'admin-1')}"}),
    ]
    assert answers[0].status_code == 503
    logging.getLogger("stepwise.test").warning("connecting to %s and %s", passwords["MONGO_URL"], passwords["AMQP_URL"])

    amqp_only = harness.settings(service, config.OPTIONS, LOG_LEVEL="INFO", AMQP_URL=passwords["AMQP_URL"],
                                 SMTP_URL=passwords["SMTP_URL"])
    running = harness.start(worker.build_worker(amqp_only), wait_ready=False)
    seen = []

    def failed_to_connect() -> bool:
        seen.append(capfd.readouterr())
        return any("ProbableAuthenticationError" in captured.err for captured in seen)

    wait_for(failed_to_connect, timeout=30, what="the worker to try the broker with the wrong password")
    running.stop()
    seen.append(capfd.readouterr())

    written = "".join(captured.err + captured.out for captured in seen) + "".join(answer.text for answer in answers)
    assert "connecting to mongodb://stepwise:***@127.0.0.1" in written
    assert "amqp://guest:***@" in written
    assert MARK not in written
    assert harness.jwt_secret not in written


def _a_list(service: str) -> str:
    return {"goals": "goals", "questionnaires": "responses", "notifications": "notifications"}[service]
