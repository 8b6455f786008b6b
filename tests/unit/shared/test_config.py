import pytest

from shared.config import ConfigError, Option, load_settings, positive_int
from shared.events.amqp import node_parameters

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


@pytest.mark.parametrize(
    "variable, value",
    [
        ("JWT_SECRET", "short-but-secret-Xq9"),
        ("MONGO_URL", "mongodb://stepwise:Xq9-p@ss@db:27017/?authSource=admin"),
        ("MONGO_URL", "mongodb://stepwise:Xq9-pass@db:port/"),
        ("MONGO_URL", "mongodb://stepwise:Xq9-pass@db/?notAnOption=Xq9-pass"),
        ("AMQP_URL", "amqp://stepwise:Xq9-pass@rabbit:port/%2F"),
        ("AMQP_URL", "amqp://stepwise:Xq9-pass@rabbit/%2F?heartbeat=Xq9-pass"),
        ("SMTP_URL", "smtp://mailer:Xq9-pass@mail:port"),
        ("PREFETCH", "Xq9"),
        ("OUTBOX_POLL_SECONDS", "Xq9"),
    ],
)
def test_a_bad_value_is_named_but_never_repeated(variable, value):
    with pytest.raises(ConfigError) as caught:
        load_settings("goals", {"JWT_SECRET": SECRET, variable: value})
    assert str(caught.value).startswith(f"{variable} is invalid: ")
    assert "Xq9" not in str(caught.value)


def test_a_secret_may_come_from_a_file(tmp_path):
    (tmp_path / "jwt").write_text("f" * 40 + "\n")
    (tmp_path / "mongo").write_text("mongodb://stepwise:pw@db:27017/")
    settings = load_settings("goals", {"JWT_SECRET_FILE": str(tmp_path / "jwt"), "MONGO_URL_FILE": str(tmp_path / "mongo")})
    assert settings.tokens.secret == "f" * 40
    assert settings.mongo_url == "mongodb://stepwise:pw@db:27017/"


@pytest.mark.parametrize(
    "environ, problem",
    [
        ({"JWT_SECRET": SECRET, "JWT_SECRET_FILE": "{dir}/jwt"}, "JWT_SECRET and JWT_SECRET_FILE are both set: set only one"),
        ({"JWT_SECRET_FILE": "{dir}/missing"}, "JWT_SECRET_FILE names a file that cannot be read (No such file or directory)"),
        ({"JWT_SECRET_FILE": "{dir}/empty"}, "JWT_SECRET_FILE names an empty file"),
        ({"JWT_SECRET": SECRET, "AMQP_URL_FILE": "{dir}/jwt"}, "AMQP_URL is invalid: expected a amqp or amqps URL"),
    ],
)
def test_a_secret_file_that_cannot_be_used_is_named(tmp_path, environ, problem):
    (tmp_path / "jwt").write_text("f" * 40)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError) as caught:
        load_settings("goals", {name: value.format(dir=tmp_path) for name, value in environ.items()})
    assert str(caught.value) == problem
    assert "f" * 40 not in str(caught.value)


def test_settings_never_show_a_secret_when_printed():
    settings = load_settings("goals", {"JWT_SECRET": SECRET, "MONGO_URL": "mongodb://u:hidden-pw@db:27017/",
                                       "AMQP_URL": "amqp://u:hidden-pw@rabbit:5672/%2F"})
    assert SECRET not in repr(settings) and "hidden-pw" not in repr(settings)


def test_an_identity_provider_needs_an_issuer_and_an_audience():
    provider = {"JWT_JWKS_URL": "https://id.clinic.example/certs"}
    with pytest.raises(ConfigError, match="JWT_ISSUER is not set: it is required with JWT_JWKS_URL"):
        load_settings("goals", provider)
    with pytest.raises(ConfigError, match="JWT_AUDIENCE is not set"):
        load_settings("goals", {**provider, "JWT_ISSUER": "https://id.clinic.example"})
    tokens = load_settings("goals", {**provider, "JWT_ISSUER": "https://id.clinic.example", "JWT_AUDIENCE": "api"}).tokens
    assert (tokens.secret, tokens.jwks_url, tokens.max_lifetime_seconds) == (None, provider["JWT_JWKS_URL"], 86400)


@pytest.mark.parametrize(
    "variable, value",
    [
        ("JWT_JWKS_URL", "http://id.clinic.example/certs"),  # keys over plain http could be swapped on the way
        ("JWT_JWKS_URL", "file:///etc/passwd"),
        ("JWT_ROLE_MAP", "clinician"),
        ("JWT_MAX_LIFETIME_SECONDS", "0"),
        ("JWT_JWKS_MIN_REFRESH_SECONDS", "-1"),
    ],
)
def test_bad_token_settings_stop_start_up(variable, value):
    environ = {"JWT_SECRET": SECRET, "JWT_ISSUER": "https://id.example", "JWT_AUDIENCE": "api", variable: value}
    with pytest.raises(ConfigError, match=variable):
        load_settings("goals", environ)


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


def test_amqp_url_may_name_every_node_of_a_cluster():
    nodes = "amqp://u:p,w@rabbit-0:5672/%2F, amqps://u:p,w@rabbit-1/%2F,amqp://u:p,w@rabbit-2:5672/%2F"
    settings = load_settings("goals", {"JWT_SECRET": SECRET, "AMQP_URL": nodes})
    assert settings.amqp_url == nodes
    # A comma inside a password does not split a URL: only one before the next scheme does.
    assert [params.host for params in node_parameters(settings.amqp_url)] == ["rabbit-0", "rabbit-1", "rabbit-2"]
    assert {params.credentials.password for params in node_parameters(settings.amqp_url)} == {"p,w"}


@pytest.mark.parametrize(
    "value, problem",
    [
        ("amqp://u:Xq9-pass@rabbit-0/%2F,amqp://u:Xq9-pass@rabbit-1:port/%2F",
         "AMQP_URL is invalid: URL 2 of 2: expected a amqp or amqps URL with a numeric port"),
        ("amqp://u:Xq9-pass@rabbit-0/%2F,amqp://u:Xq9-pass@rabbit-1/%2F?heartbeat=Xq9-pass",
         "AMQP_URL is invalid: URL 2 of 2: "),
        ("amqp://u:Xq9-pass@rabbit-0/%2F,", "AMQP_URL is invalid: URL 2 of 2: expected a amqp or amqps URL"),
    ],
)
def test_a_bad_node_url_is_named_by_its_position_never_shown(value, problem):
    with pytest.raises(ConfigError) as caught:
        load_settings("goals", {"JWT_SECRET": SECRET, "AMQP_URL": value})
    assert str(caught.value).startswith(problem)
    assert "Xq9" not in str(caught.value)
