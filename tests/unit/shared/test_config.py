import pytest

from shared.config import ConfigError, Option, load_settings, positive_int

SECRET = "s" * 32


def test_contract_defaults_apply_when_unset():
    settings = load_settings("goals", {"JWT_SECRET": SECRET})
    assert settings.mongo_url == "mongodb://127.0.0.1:27017"
    assert settings.amqp_url == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert settings.database == "stepwise_goals"
    assert settings.exchange == "stepwise.events"
    assert settings.log_level == "INFO"
    assert settings.smtp_url is None


@pytest.mark.parametrize(
    "variable, value",
    [
        ("MONGO_URL", "http://db:27017"),
        ("AMQP_URL", "rabbit:5672"),
        ("LOG_LEVEL", "chatty"),
        ("SMTP_URL", "mailpit:1025"),
        ("RETRY_DELAYS", "1,-5"),
        ("PREFETCH", "0"),
        ("JWT_SECRET", "short"),
        ("WORKER_METRICS_PORT", "65536"),
        ("WORKER_METRICS_PORT", "-1"),
        ("WORKER_METRICS_PORT", "on"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(variable, value):
    environ = {"JWT_SECRET": SECRET, variable: value}
    with pytest.raises(ConfigError, match=variable):
        load_settings("goals", environ)


def test_a_missing_secret_is_named():
    with pytest.raises(ConfigError, match="JWT_SECRET is not set"):
        load_settings("goals", {})


def test_service_options_are_parsed_and_checked():
    options = [Option("DUE_SOON_DAYS", positive_int, 7)]
    assert load_settings("goals", {"JWT_SECRET": SECRET}, options)["DUE_SOON_DAYS"] == 7
    assert load_settings("goals", {"JWT_SECRET": SECRET, "DUE_SOON_DAYS": "3"}, options)["DUE_SOON_DAYS"] == 3
    with pytest.raises(ConfigError, match="DUE_SOON_DAYS"):
        load_settings("goals", {"JWT_SECRET": SECRET, "DUE_SOON_DAYS": "soon"}, options)


def test_workers_serve_metrics_on_9100_unless_switched_off():
    assert load_settings("goals", {"JWT_SECRET": SECRET}).worker_metrics_port == 9100
    assert load_settings("goals", {"JWT_SECRET": SECRET, "WORKER_METRICS_PORT": "9101"}).worker_metrics_port == 9101
    for off in ("0", "off", "OFF"):
        assert load_settings("goals", {"JWT_SECRET": SECRET, "WORKER_METRICS_PORT": off}).worker_metrics_port is None
