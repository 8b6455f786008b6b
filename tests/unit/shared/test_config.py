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
