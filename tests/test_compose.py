"""docker-compose.yml, the Dockerfile and the requirement files, checked without Docker.

The compose file is validated against the Compose Specification's JSON schema (a copy in
tests/schemas/), then against what the contract and operations ask of the stack. Each check is a
helper that returns the problems it finds, so that the tests can show it also finds them in a
broken copy.
"""

import copy
import json
import re
import stat
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.support.gunicorn import graceful_timeout as gunicorn_graceful_timeout

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint"
SCHEMA_FILE = ROOT / "tests" / "schemas" / "compose-spec.json"

API_PORTS = {"goals": 8001, "questionnaires": 8002, "notifications": 8003}
WORKER_METRICS_PORTS = {"goals-worker": 9101, "questionnaires-worker": 9102, "notifications-worker": 9103}
APPS = list(API_PORTS)
WORKERS = [f"{name}-worker" for name in APPS]
SERVERS = ["mongo", "rabbitmq", "mailpit"]
ENV_HINT = "run scripts/env to create .env"
CONTRACT_ENV = {
    "MONGO_URL": f"mongodb://${{MONGO_APP_USER:?{ENV_HINT}}}:${{MONGO_APP_PASSWORD:?{ENV_HINT}}}@mongo:27017/?authSource=admin",
    "AMQP_URL": f"amqp://${{RABBITMQ_USER:?{ENV_HINT}}}:${{RABBITMQ_PASSWORD:?{ENV_HINT}}}@rabbitmq:5672/%2F",
    "JWT_SECRET": f"${{JWT_SECRET:?{ENV_HINT}}}",
    "SMTP_URL": "smtp://mailpit:1025",
    "LOG_LEVEL": "${LOG_LEVEL:-INFO}",
}
# A variable whose name says it holds a credential must never have a default in the file.
SECRET_NAME = re.compile(r"SECRET|PASSWORD|_USER$|TOKEN|KEY")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ...
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
# Images pulled from a registry: repository -> how their tag must look (a full version).
PINNED_TAG = re.compile(r"^v?\d+\.\d+\.\d+([.-][\w.-]+)?$")
# What the images must not carry (requirements-dev.txt only).
DEV_PACKAGES = ("pytest", "pytest-timeout", "hypothesis", "testcontainers", "aiosmtpd", "jsonschema", "PyYAML", "ruff", "mypy")


def load_compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


def schema_errors(doc):
    schema = json.loads(SCHEMA_FILE.read_text())
    validator = jsonschema.Draft7Validator(schema)
    return sorted(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(doc)
    )


def environment_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: (None if value is None else str(value)) for key, value in env.items()}


def published_ports(service):
    """(host port, container port) pairs of the service's `ports`, short or long syntax."""
    pairs = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            pairs.append((int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) == 1:
            continue  # container port only: published on a random host port
        pairs.append((int(parts[-2]), int(parts[-1])))
    return pairs


def image_problems(name, service):
    image = service.get("image")
    if image is None:
        return [] if "build" in service else [f"{name}: neither image nor build"]
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        return [f"{name}: image {image!r} has no tag"]
    if tag == "latest":
        return [f"{name}: image {image!r} uses latest"]
    if "build" not in service and not PINNED_TAG.match(tag):
        return [f"{name}: image {image!r} is not pinned to a full version"]
    return []


def healthy_dependencies(service):
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return set()  # the short form only waits for the container to start
    return {
        name
        for name, spec in depends_on.items()
        if (spec or {}).get("condition") == "service_healthy"
    }


def duration_seconds(value):
    """A Compose duration (``25s``, ``1m30s``) in seconds; 0 when absent."""
    if value is None:
        return 0
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", str(value))
    if not parts or not any(parts.groups()):
        raise ValueError(f"not a duration: {value!r}")
    hours, minutes, seconds = (int(part or 0) for part in parts.groups())
    return hours * 3600 + minutes * 60 + seconds


def interpolations(doc):
    """(name, operator, argument) of every ${...} in the document's strings."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            found.extend(INTERPOLATION.findall(node))

    walk(doc)
    return found


def secret_problems(doc):
    """Every credential is required (``${NAME:?message}``): no silent default, no empty value."""
    return sorted({
        f"{name} may be unset or defaulted ({'${' + name + (operator + argument if operator else '') + '}'})"
        for name, operator, argument in interpolations(doc)
        if SECRET_NAME.search(name) and operator != ":?"
    })


def compose_problems(doc):
    """What the contract and the conventions ask of docker-compose.yml, as a list of problems."""
    problems = []
    services = doc.get("services") or {}
    for name in APPS + WORKERS + SERVERS:
        if name not in services:
            problems.append(f"service {name} is missing")
    for name, service in services.items():
        if not (service.get("healthcheck") or {}).get("test"):
            problems.append(f"{name}: no healthcheck")
        if service.get("restart") not in ("always", "unless-stopped", "on-failure"):
            problems.append(f"{name}: no restart policy")
        problems.extend(image_problems(name, service))

    for name, port in API_PORTS.items():
        owners = sorted(n for n, s in services.items() if any(h == port for h, _ in published_ports(s)))
        if owners != [name]:
            problems.append(f"port {port} is published by {owners}, expected [{name!r}]")
        elif (port, port) not in published_ports(services[name]):
            problems.append(f"{name}: port {port} does not reach container port {port}")
        if environment_of(services.get(name, {})).get("PORT") != str(port):
            problems.append(f"{name}: PORT is not {port}")

    grace = gunicorn_graceful_timeout()
    for name in APPS + WORKERS:
        service = services.get(name)
        if service is None:
            continue
        app = name.removesuffix("-worker")
        needed = {"mongo", "rabbitmq"} | ({"mailpit"} if app == "notifications" else set())
        missing = needed - healthy_dependencies(service)
        if missing:
            problems.append(f"{name}: does not wait for healthy {sorted(missing)}")
        env = environment_of(service)
        for key, value in CONTRACT_ENV.items():
            if env.get(key) != value:
                problems.append(f"{name}: {key} is {env.get(key)!r}, expected {value!r}")
        build = service.get("build") or {}
        if (build.get("context"), build.get("dockerfile"), (build.get("args") or {}).get("SERVICE")) != (
            ".", "Dockerfile", app
        ):
            problems.append(f"{name}: not built from the root Dockerfile with SERVICE={app}")
        if duration_seconds(service.get("stop_grace_period")) <= grace:
            problems.append(f"{name}: stop_grace_period is not longer than gunicorn's graceful_timeout ({grace}s)")
        if not service.get("read_only") or not any(str(t).split(":")[0] == "/tmp" for t in service.get("tmpfs") or []):
            problems.append(f"{name}: root filesystem is not read-only with a tmpfs at /tmp")
        if "ALL" not in (service.get("cap_drop") or []):
            problems.append(f"{name}: does not drop all capabilities")
        if name in WORKERS:
            command = service.get("command")
            if isinstance(command, str):
                command = command.split()
            if command != ["worker"]:
                problems.append(f"{name}: command is {command!r}")
            if "shared.heartbeat" not in " ".join(service["healthcheck"]["test"]):
                problems.append(f"{name}: healthcheck does not use shared.heartbeat")
            metrics = (WORKER_METRICS_PORTS[name], 9100)
            if metrics not in published_ports(service) or env.get("WORKER_METRICS_PORT") not in (None, "9100"):
                problems.append(f"{name}: metrics (container port 9100) not published on {metrics[0]}")
        elif "/healthz" not in " ".join(service.get("healthcheck", {}).get("test", [])):
            problems.append(f"{name}: healthcheck does not ask /healthz")

    for name, service in services.items():
        logging = service.get("logging") or {}
        options = logging.get("options") or {}
        if logging.get("driver") != "json-file" or not {"max-size", "max-file"} <= set(options):
            problems.append(f"{name}: logs are not rotated (json-file with max-size and max-file)")
    problems.extend(secret_problems(doc))

    volumes = doc.get("volumes") or {}
    for name in ("mongo", "rabbitmq"):
        mounts = (services.get(name) or {}).get("volumes") or []
        named = [m.split(":")[0] for m in mounts if isinstance(m, str)]
        if not any(v in volumes for v in named):
            problems.append(f"{name}: its data is not on a named volume")
    return problems


def dockerfile_instructions(text):
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    if current:
        logical.append(current)
    pairs = []
    for line in logical:
        word, _, rest = line.partition(" ")
        pairs.append((word.upper(), rest.strip()))
    return pairs


def build_args(instructions):
    """ARG defaults declared before the first FROM (the ones a FROM line may use)."""
    defaults = {}
    for op, args in instructions:
        if op == "FROM":
            break
        if op == "ARG":
            name, _, value = args.partition("=")
            defaults[name] = value
    return defaults


def dockerfile_problems(text):
    problems = []
    instructions = dockerfile_instructions(text)
    defaults = build_args(instructions)
    froms = [re.sub(r"\$\{(\w+)\}", lambda m: defaults.get(m.group(1), m.group(0)), args)
             for op, args in instructions if op == "FROM"]
    if len(froms) < 2:
        problems.append("not multi-stage (a build stage and a runtime stage)")
    if not froms or not re.match(r"^python:3\.11\.\d+-slim(-\w+)?(\s|$)", froms[-1]):
        problems.append(f"base image {froms[-1] if froms else None!r} is not a pinned python:3.11.x-slim")
    runtime = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM"):] if froms else []
    if not any(op == "ARG" and args.split("=")[0] == "SERVICE" for op, args in runtime):
        problems.append("the runtime stage has no ARG SERVICE")
    stage_args = {args.split("=")[0]: args.partition("=")[2] for op, args in runtime if op == "ARG"}
    users = [re.sub(r"\$\{(\w+)\}", lambda m: stage_args.get(m.group(1), m.group(0)), args)
             for op, args in runtime if op == "USER"]
    if not users or not re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1]):
        problems.append(f"does not run as a numeric non-root UID:GID (USER {users[-1] if users else None})")
    healthchecks = [args for op, args in runtime if op == "HEALTHCHECK"]
    if not healthchecks or healthchecks[-1].upper() == "NONE":
        problems.append("no HEALTHCHECK")
    elif '"healthcheck"' not in healthchecks[-1]:
        problems.append("HEALTHCHECK is not the entrypoint's healthcheck (API or worker)")
    installs = " ".join(args for op, args in instructions if op in ("RUN", "COPY"))
    if "requirements-dev" in installs or "requirements.txt" not in installs:
        problems.append("does not install requirements.txt alone")
    if not any(op == "ENV" and "PROMETHEUS_MULTIPROC_DIR" in args for op, args in runtime):
        problems.append("PROMETHEUS_MULTIPROC_DIR is not set")
    copied = " ".join(args for op, args in runtime if op == "COPY")
    for path in ("shared/", "services/${SERVICE}/", "services/__init__.py", "deploy/docker/entrypoint"):
        if path not in copied:
            problems.append(f"does not COPY {path}")
    entrypoints = [args for op, args in runtime if op == "ENTRYPOINT"]
    cmds = [args for op, args in runtime if op == "CMD"]
    if not entrypoints or json.loads(entrypoints[-1]) != ["stepwise"] or not cmds or json.loads(cmds[-1]) != ["api"]:
        problems.append("ENTRYPOINT/CMD are not the entrypoint's api")
    return problems


@pytest.fixture(scope="module")
def compose():
    return load_compose()


def test_compose_file_matches_the_compose_specification(compose):
    assert schema_errors(compose) == []


def test_schema_check_rejects_a_broken_document(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["goals"]["ports"] = 8001
    broken["services"]["mongo"]["helthcheck"] = {"test": ["CMD", "true"]}
    errors = schema_errors(broken)
    assert any(e.startswith("services/goals/ports") for e in errors), errors
    assert any("helthcheck" in e for e in errors), errors


def test_compose_file_meets_the_contract(compose):
    assert compose_problems(compose) == []


def _break_healthcheck(doc):
    del doc["services"]["rabbitmq"]["healthcheck"]


def _break_latest(doc):
    doc["services"]["mongo"]["image"] = "mongo:latest"


def _break_untagged(doc):
    doc["services"]["mailpit"]["image"] = "axllent/mailpit"


def _break_floating_tag(doc):
    doc["services"]["mongo"]["image"] = "mongo:7"


def _break_swapped_ports(doc):
    services = doc["services"]
    services["goals"]["ports"], services["questionnaires"]["ports"] = (
        services["questionnaires"]["ports"],
        services["goals"]["ports"],
    )


def _break_dependency(doc):
    doc["services"]["goals-worker"]["depends_on"] = {"mongo": {"condition": "service_started"}}


def _break_mailpit_dependency(doc):
    del doc["services"]["notifications"]["depends_on"]["mailpit"]


def _break_environment(doc):
    doc["services"]["questionnaires-worker"]["environment"] = {
        k: v for k, v in doc["services"]["questionnaires-worker"]["environment"].items() if k != "AMQP_URL"
    }


def _break_default_secret(doc):
    doc["services"]["goals"]["environment"]["JWT_SECRET"] = "${JWT_SECRET:-change-me-dev-only-not-a-real-secret}"


def _break_default_password(doc):
    doc["services"]["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_PASS"] = "${RABBITMQ_PASSWORD-guest}"


def _break_restart(doc):
    del doc["services"]["notifications-worker"]["restart"]


def _break_worker_command(doc):
    doc["services"]["goals-worker"]["command"] = ["python", "-m", "services.goals.app"]


def _break_missing_service(doc):
    del doc["services"]["questionnaires-worker"]


def _break_grace_period(doc):
    doc["services"]["goals"]["stop_grace_period"] = "10s"


def _break_log_rotation(doc):
    del doc["services"]["mongo"]["logging"]["options"]["max-size"]


def _break_worker_metrics(doc):
    doc["services"]["notifications-worker"]["ports"] = []


def _break_writable_root(doc):
    doc["services"]["questionnaires"]["read_only"] = False


def _break_build_service(doc):
    doc["services"]["questionnaires-worker"]["build"] = doc["services"]["goals"]["build"]


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (_break_healthcheck, "rabbitmq: no healthcheck"),
        (_break_latest, "mongo: image 'mongo:latest' uses latest"),
        (_break_untagged, "mailpit: image 'axllent/mailpit' has no tag"),
        (_break_floating_tag, "mongo: image 'mongo:7' is not pinned to a full version"),
        (_break_swapped_ports, "port 8001 is published by ['questionnaires'], expected ['goals']"),
        (_break_dependency, "goals-worker: does not wait for healthy ['mongo', 'rabbitmq']"),
        (_break_mailpit_dependency, "notifications: does not wait for healthy ['mailpit']"),
        (_break_environment, f"questionnaires-worker: AMQP_URL is None, expected {CONTRACT_ENV['AMQP_URL']!r}"),
        (_break_default_secret, "JWT_SECRET may be unset or defaulted (${JWT_SECRET:-change-me-dev-only-not-a-real-secret})"),
        (_break_default_password, "RABBITMQ_PASSWORD may be unset or defaulted (${RABBITMQ_PASSWORD-guest})"),
        (_break_restart, "notifications-worker: no restart policy"),
        (_break_worker_command, "goals-worker: command is ['python', '-m', 'services.goals.app']"),
        (_break_missing_service, "service questionnaires-worker is missing"),
        (_break_grace_period, "goals: stop_grace_period is not longer than gunicorn's graceful_timeout (20s)"),
        (_break_log_rotation, "mongo: logs are not rotated (json-file with max-size and max-file)"),
        (_break_worker_metrics, "notifications-worker: metrics (container port 9100) not published on 9103"),
        (_break_writable_root, "questionnaires: root filesystem is not read-only with a tmpfs at /tmp"),
        (_break_build_service, "questionnaires-worker: not built from the root Dockerfile with SERVICE=questionnaires"),
    ],
    ids=lambda value: getattr(value, "__name__", "")[len("_break_"):] or None,
)
def test_contract_check_finds_each_breakage(compose, breakage, expected):
    broken = copy.deepcopy(compose)
    breakage(broken)
    assert expected in compose_problems(broken)


def test_environment_in_list_form_is_understood():
    service = {"environment": ["MONGO_URL=mongodb://mongo:27017", "EMPTY"]}
    assert environment_of(service) == {"MONGO_URL": "mongodb://mongo:27017", "EMPTY": None}


def test_published_ports_reads_short_and_long_syntax():
    service = {"ports": ["127.0.0.1:8001:8001", "8025:8025/tcp", "9000", {"published": "5672", "target": 5672}]}
    assert published_ports(service) == [(8001, 8001), (8025, 8025), (5672, 5672)]


def test_dockerfile_builds_every_service_unprivileged_with_runtime_dependencies_only():
    assert dockerfile_problems(DOCKERFILE.read_text()) == []
    assert not list((ROOT / "services").glob("*/Dockerfile")), "one Dockerfile at the root builds every service"


def test_dockerfile_check_finds_root_names_and_missing_healthcheck():
    text = DOCKERFILE.read_text()
    as_root = re.sub(r"^USER .*$", "USER root", text, flags=re.M)
    assert "does not run as a numeric non-root UID:GID (USER root)" in dockerfile_problems(as_root)
    by_name = re.sub(r"^USER .*$", "USER stepwise", text, flags=re.M)
    assert "does not run as a numeric non-root UID:GID (USER stepwise)" in dockerfile_problems(by_name)
    no_user = re.sub(r"^USER .*$", "", text, flags=re.M)
    assert "does not run as a numeric non-root UID:GID (USER None)" in dockerfile_problems(no_user)
    no_healthcheck = re.sub(r"^HEALTHCHECK .*$", "", text, flags=re.M)
    assert "no HEALTHCHECK" in dockerfile_problems(no_healthcheck)
    floating = text.replace("python:3.11.11-slim-bookworm", "python:3-slim")
    assert any(p.startswith("base image") for p in dockerfile_problems(floating))
    dev = text.replace("COPY requirements.txt", "COPY requirements-dev.txt")
    assert "does not install requirements.txt alone" in dockerfile_problems(dev)


def test_entrypoint_starts_gunicorn_with_the_services_config_or_its_worker():
    text = ENTRYPOINT.read_text()
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR
    subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=True)
    assert 'exec gunicorn -c "services/${SERVICE}/gunicorn.conf.py"' in text
    assert '"services.${SERVICE}.app:create_app()"' in text
    assert 'exec python -m "services.${SERVICE}.worker"' in text


def test_runtime_requirements_carry_no_test_or_tooling_package():
    runtime = (ROOT / "requirements.txt").read_text()
    names = {re.split(r"[=<>\[ ]", line.strip())[0].lower() for line in runtime.splitlines()
             if line.strip() and not line.startswith("#")}
    assert names, "requirements.txt lists nothing"
    assert not names & {package.lower() for package in DEV_PACKAGES}
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in dev
    for package in DEV_PACKAGES:
        assert any(line.startswith((f"{package}==", f"{package}[")) for line in dev), package


def test_dockerignore_keeps_local_state_and_history_out_of_images():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".local", ".git", "tests", ".env"} <= ignored


def test_scripts_env_writes_every_required_variable_with_fresh_random_secrets(compose, tmp_path):
    def generate(path):
        subprocess.run([str(ROOT / "scripts" / "env"), "--output", str(path)], check=True, capture_output=True)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))

    first, second = generate(tmp_path / "first.env"), generate(tmp_path / "second.env")
    required = {name for name, operator, _ in interpolations(compose) if operator == ":?"}
    assert required == set(first), "scripts/env writes exactly what docker-compose.yml requires"
    for name, value in first.items():
        if re.search("SECRET|PASSWORD", name):
            assert len(value.encode()) >= 32 and re.fullmatch(r"[0-9a-f]+", value), name
            assert value != second[name], f"{name} is not random"
    again = subprocess.run([str(ROOT / "scripts" / "env"), "--output", str(tmp_path / "first.env")], capture_output=True)
    assert again.returncode != 0, "scripts/env replaced an existing file without --force"


def test_the_env_file_is_never_committed():
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    tracked = subprocess.run(["git", "ls-files", ".env"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert tracked.stdout == ""
