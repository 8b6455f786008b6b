"""docker-compose.yml and the service Dockerfiles, checked without Docker.

The compose file is validated against the Compose Specification's JSON schema (a copy in
tests/schemas/), then against what the contract asks of the stack. Each check is a helper that
returns the problems it finds, so that the tests can show it also finds them in a broken copy.
"""

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = ROOT / "tests" / "schemas" / "compose-spec.json"

API_PORTS = {"goals": 8001, "questionnaires": 8002, "notifications": 8003}
APPS = list(API_PORTS)
WORKERS = [f"{name}-worker" for name in APPS]
SERVERS = ["mongo", "rabbitmq", "mailpit"]
CONTRACT_ENV = {
    "MONGO_URL": "mongodb://mongo:27017",
    "AMQP_URL": "amqp://guest:guest@rabbitmq:5672/%2F",
    "JWT_SECRET": "${JWT_SECRET:-change-me-dev-only-not-a-real-secret}",
    "SMTP_URL": "smtp://mailpit:1025",
    "LOG_LEVEL": "${LOG_LEVEL:-INFO}",
}
# shared.config refuses an HS256 secret shorter than this (RFC 7518 section 3.2).
MIN_JWT_SECRET_BYTES = 32
# Images pulled from a registry: repository -> how their tag must look (a full version).
PINNED_TAG = re.compile(r"^v?\d+\.\d+\.\d+([.-][\w.-]+)?$")


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
        default_secret = re.fullmatch(r"\$\{JWT_SECRET:-(.*)\}", env.get("JWT_SECRET") or "")
        if default_secret and len(default_secret.group(1).encode()) < MIN_JWT_SECRET_BYTES:
            problems.append(f"{name}: the default JWT_SECRET is shorter than {MIN_JWT_SECRET_BYTES} bytes")
        build = service.get("build") or {}
        if build.get("context") != "." or build.get("dockerfile") != f"services/{app}/Dockerfile":
            problems.append(f"{name}: not built from services/{app}/Dockerfile with the repo root as context")
        if name in WORKERS:
            command = service.get("command")
            if isinstance(command, str):
                command = command.split()
            if command != ["python", "-m", f"services.{app}.worker"]:
                problems.append(f"{name}: command is {command!r}")
            if "shared.heartbeat" not in " ".join(service["healthcheck"]["test"]):
                problems.append(f"{name}: healthcheck does not use shared.heartbeat")
        elif "/healthz" not in " ".join(service.get("healthcheck", {}).get("test", [])):
            problems.append(f"{name}: healthcheck does not ask /healthz")

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


def dockerfile_problems(text, name, port):
    problems = []
    instructions = dockerfile_instructions(text)
    froms = [args for op, args in instructions if op == "FROM"]
    if not froms or not re.match(r"^python:3\.11\.\d+-slim(-\w+)?(\s|$)", froms[-1]):
        problems.append(f"base image {froms[-1] if froms else None!r} is not a pinned python:3.11.x-slim")
    users = [args.split(":")[0] for op, args in instructions if op == "USER"]
    if not users or users[-1] in ("root", "0"):
        problems.append("runs as root (no non-root USER)")
    healthchecks = [args for op, args in instructions if op == "HEALTHCHECK"]
    if not healthchecks or healthchecks[-1].upper() == "NONE":
        problems.append("no HEALTHCHECK")
    elif "/healthz" not in healthchecks[-1] or "urllib" not in healthchecks[-1]:
        problems.append("HEALTHCHECK does not ask /healthz with urllib")
    if not any(op == "EXPOSE" and str(port) in args.split() for op, args in instructions):
        problems.append(f"does not EXPOSE {port}")
    if not any(op == "ENV" and "PROMETHEUS_MULTIPROC_DIR" in args for op, args in instructions):
        problems.append("PROMETHEUS_MULTIPROC_DIR is not set")
    cmds = [args for op, args in instructions if op == "CMD"]
    expected = ["gunicorn", "-c", f"services/{name}/gunicorn.conf.py", f"services.{name}.app:create_app()"]
    if not cmds or json.loads(cmds[-1]) != expected:
        problems.append(f"CMD is not {expected}")
    copied = " ".join(args for op, args in instructions if op == "COPY")
    for path in ("shared/", f"services/{name}/", "services/__init__.py"):
        if path not in copied:
            problems.append(f"does not COPY {path}")
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


def _break_short_secret(doc):
    doc["services"]["goals"]["environment"]["JWT_SECRET"] = "${JWT_SECRET:-change-me-dev-only}"


def _break_restart(doc):
    del doc["services"]["notifications-worker"]["restart"]


def _break_worker_command(doc):
    doc["services"]["goals-worker"]["command"] = ["python", "-m", "services.goals.app"]


def _break_missing_service(doc):
    del doc["services"]["questionnaires-worker"]


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
        (_break_environment, "questionnaires-worker: AMQP_URL is None, expected 'amqp://guest:guest@rabbitmq:5672/%2F'"),
        (_break_short_secret, "goals: the default JWT_SECRET is shorter than 32 bytes"),
        (_break_restart, "notifications-worker: no restart policy"),
        (_break_worker_command, "goals-worker: command is ['python', '-m', 'services.goals.app']"),
        (_break_missing_service, "service questionnaires-worker is missing"),
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


@pytest.mark.parametrize("name", APPS)
def test_dockerfile_runs_unprivileged_with_a_healthcheck(name):
    text = (ROOT / "services" / name / "Dockerfile").read_text()
    assert dockerfile_problems(text, name, API_PORTS[name]) == []


def test_dockerfile_check_finds_root_and_missing_healthcheck():
    text = (ROOT / "services" / "goals" / "Dockerfile").read_text()
    as_root = re.sub(r"^USER .*$", "USER root", text, flags=re.M)
    assert "runs as root (no non-root USER)" in dockerfile_problems(as_root, "goals", 8001)
    no_user = re.sub(r"^USER .*$", "", text, flags=re.M)
    assert "runs as root (no non-root USER)" in dockerfile_problems(no_user, "goals", 8001)
    no_healthcheck = re.sub(r"^HEALTHCHECK .*?\n(?=\S)", "", text, flags=re.M | re.S)
    assert "no HEALTHCHECK" in dockerfile_problems(no_healthcheck, "goals", 8001)
    floating = text.replace("FROM python:3.11.11-slim-bookworm", "FROM python:3-slim")
    assert any(p.startswith("base image") for p in dockerfile_problems(floating, "goals", 8001))


def test_dockerignore_keeps_local_state_and_history_out_of_images():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".local", ".git", "tests"} <= ignored
