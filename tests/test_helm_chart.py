"""The Helm chart (deploy/helm/stepwise), checked offline: `helm lint`, `helm template` with the
default values and with ci/production-values.yaml, every rendered object validated against the
Kubernetes JSON schemas (kubernetes-validate, strict: an unknown field is an error, as with the
API server's strict field validation) and the custom resources against their CRDs' schemas
(tests/schemas), then what operations rely on: the pods' security context, probes, secrets by
reference, autoscaling, network policies.

Kubernetes versions: 1.29, the oldest the chart declares (Chart.yaml kubeVersion; what managed
platforms still run under extended support), and 1.37, the newest kubernetes-validate bundles;
an object valid on both uses no API or field removed since 1.29 nor one added after it.

helm comes from `scripts/install-helm` (.ci/run runs it): a missing helm fails these tests with
that instruction, in CI and elsewhere, rather than skipping them.
"""
from __future__ import annotations

import copy
import importlib
import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from shared.config import load_settings
from tests.support.gunicorn import graceful_timeout as gunicorn_graceful_timeout
from tests.support.observability import RULES

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "deploy" / "helm" / "stepwise"
PRODUCTION_VALUES = CHART / "ci" / "production-values.yaml"
SCHEMAS = ROOT / "tests" / "schemas"
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
SERVICES = ("goals", "questionnaires", "notifications")
API_PORTS = {"goals": 8001, "questionnaires": 8002, "notifications": 8003}
CUSTOM_RESOURCE_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication-v1alpha1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "prometheus-operator-servicemonitor-v1.json",
}
SECRET_VARIABLES = {"JWT_SECRET", "MONGO_URL", "AMQP_URL", "SMTP_URL"}
VALUE_SETS = {"default": [], "production": ["-f", str(PRODUCTION_VALUES)]}


def find_helm() -> str:
    candidates = [ROOT / ".local" / "bin" / "helm"]
    if shutil.which("go"):
        gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True).stdout.strip()
        if gopath:
            candidates.append(Path(gopath) / "bin" / "helm")
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return str(candidate)
    on_path = shutil.which("helm")
    if on_path:
        return on_path
    where = "CI (.ci/run installs it)" if os.environ.get("CI") == "true" else "this machine"
    pytest.fail(
        f"helm is missing on {where}: run scripts/install-helm (builds helm v3.16.4 into .local/bin); "
        f"looked in {', '.join(map(str, candidates))} and PATH",
        pytrace=False,
    )


def helm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([find_helm(), *args], capture_output=True, text=True, timeout=120)


@cache
def rendered(values: str, *extra: str) -> tuple[dict, ...]:
    result = helm("template", "stepwise", str(CHART), "--namespace", "stepwise",
                  "--kube-version", KUBERNETES_VERSIONS[0], *VALUE_SETS[values], *extra)
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render_error(*extra: str) -> str:
    result = helm("template", "stepwise", str(CHART), "--kube-version", KUBERNETES_VERSIONS[0], *extra)
    assert result.returncode != 0, "the chart rendered values it should refuse"
    return result.stderr


def of_kind(objects, kind: str) -> dict[str, dict]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def strict(schema):
    """A CRD schema that refuses unknown fields, as the API server's strict field validation does
    (CRD schemas leave additionalProperties unset and the server prunes or, when strict, refuses)."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def validation_errors(obj) -> list[str]:
    """Why ``obj`` is not a valid object of its kind, on every Kubernetes version tested."""
    key = (obj["apiVersion"], obj["kind"])
    name = f"{obj['kind']}/{obj['metadata']['name']}"
    if key in CUSTOM_RESOURCE_SCHEMAS:
        schema = strict(json.loads((SCHEMAS / CUSTOM_RESOURCE_SCHEMAS[key]).read_text()))
        return [f"{name}: {error.message}" for error in jsonschema.Draft7Validator(schema).iter_errors(obj)]
    errors = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
            errors.append(f"{name} on {version}: {getattr(error, 'message', None) or error!r}")
    return errors


def validation_errors_of(objects) -> list[str]:
    return [error for obj in objects for error in validation_errors(obj)]


def code_consumers(service: str) -> list[str]:
    """The Subscription names the service's ``build_worker`` gives its Worker, read from the
    arguments it passes (the Worker itself is not built: this needs no server)."""
    config = importlib.import_module(f"services.{service}.config")
    worker_module = importlib.import_module(f"services.{service}.worker")
    settings = load_settings(service, {"JWT_SECRET": "x" * 32}, config.OPTIONS)
    passed: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(worker_module, "Worker", lambda **arguments: passed.update(arguments))
        worker_module.build_worker(settings)
    return [subscription.consumer for subscription in passed.get("subscriptions", ())]


# --- helm itself ----------------------------------------------------------------------------


@pytest.mark.parametrize("values", VALUE_SETS)
def test_helm_lint_passes(values):
    result = helm("lint", "--strict", str(CHART), "--kube-version", KUBERNETES_VERSIONS[0], *VALUE_SETS[values])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values", VALUE_SETS)
def test_every_rendered_object_is_valid_kubernetes(values):
    objects = rendered(values)
    assert objects
    assert validation_errors_of(objects) == []


def test_schema_validation_finds_an_unknown_field_and_a_wrong_type():
    deployment = next(iter(of_kind(rendered("default"), "Deployment").values()))
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    assert any("readOnlyRootFileSystem" in error for error in validation_errors(misspelt))
    mistyped = copy.deepcopy(deployment)
    mistyped["spec"]["replicas"] = "two"
    assert any("'two' is not of type" in error for error in validation_errors(mistyped))
    monitor = copy.deepcopy(next(iter(of_kind(rendered("production"), "ServiceMonitor").values())))
    monitor["spec"]["endpoints"][0]["prot"] = "http"
    assert any("prot" in error for error in validation_errors(monitor))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "worker.keda.minReplicas=0"], "worker.keda.minReplicas: Must be greater than or equal to 1"),
        (["--set", "api.replicass=3"], "Additional property replicass is not allowed"),
        (["--set", "secrets.jwt.name="], "secrets.jwt.name"),
        (["--set", "config.JWT_SECRET=not-here"], "config"),
        (["--set", "services.goals.config.MONGO_URL=mongodb://x"], "services.goals.config"),
        (["--set", "image.pullPolicy=Sometimes"], "image.pullPolicy"),
        (["--set", "api.terminationGracePeriodSeconds=10"], "api.terminationGracePeriodSeconds"),
        (["--set", "podSecurity.runAsUser=0"], "podSecurity.runAsUser"),
    ],
    ids=["keda-to-zero", "typo", "no-secret-name", "secret-in-configmap", "url-in-configmap", "pull-policy",
         "grace-too-short", "root-user"],
)
def test_bad_values_fail_at_render_naming_the_value(args, expected):
    assert expected in render_error(*args)


# --- what the chart renders -------------------------------------------------------------------


@pytest.mark.parametrize("values", VALUE_SETS)
def test_an_api_and_a_worker_per_service_with_services_budgets_and_autoscalers(values):
    objects = rendered(values)
    names = [f"stepwise-{service}{suffix}" for service in SERVICES for suffix in ("", "-worker")]
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"):
        assert sorted(of_kind(objects, kind)) == sorted(names), kind
    assert sorted(of_kind(objects, "HorizontalPodAutoscaler")) == sorted(f"stepwise-{s}" for s in SERVICES)
    assert sorted(of_kind(objects, "ConfigMap")) == sorted(f"stepwise-{s}" for s in SERVICES)
    for name, service in of_kind(objects, "Service").items():
        port = service["spec"]["ports"][0]
        if name.endswith("-worker"):
            assert (port["name"], port["port"]) == ("metrics", 9100)
        else:
            assert (port["name"], port["port"]) == ("http", API_PORTS[name.removeprefix("stepwise-")])
    for deployment in of_kind(objects, "Deployment").values():
        # The autoscaler owns the APIs' replica count: an upgrade must not reset it.
        if not deployment["metadata"]["name"].endswith("-worker"):
            assert "replicas" not in deployment["spec"]


@pytest.mark.parametrize("values", VALUE_SETS)
def test_every_pod_runs_unprivileged_with_a_read_only_root_and_writable_tmp(values):
    objects = rendered(values)
    configs = of_kind(objects, "ConfigMap")
    for name, deployment in of_kind(objects, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, name
        assert isinstance(security["runAsUser"], int) and security["runAsUser"] > 0, name
        assert isinstance(security["fsGroup"], int) and security["fsGroup"] > 0, name
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), name
        empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
        config = configs[name.removesuffix("-worker")]["data"]
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"] and not context["capabilities"].get("add"), name
            assert not context.get("privileged"), name
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            for path in ("/tmp", config["PROMETHEUS_MULTIPROC_DIR"]):
                assert mounts.get(path) in empty_dirs, f"{name}: {path} is not a writable emptyDir"
            assert Path(config["WORKER_HEARTBEAT_FILE"]).parent == Path("/tmp")


@pytest.mark.parametrize("values", VALUE_SETS)
def test_probes_fit_kubernetes_readiness_follows_mongodb_and_liveness_the_process(values):
    grace = gunicorn_graceful_timeout()
    for name, deployment in of_kind(rendered(values), "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        if name.endswith("-worker"):
            assert container["args"] == ["worker"]
            for probe in ("startupProbe", "livenessProbe"):
                assert container[probe]["exec"]["command"] == ["python", "-m", "shared.heartbeat"], name
            assert "readinessProbe" not in container
        else:
            assert container["args"] == ["api"]
            assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            # The readiness check answers within 2 s (shared.health.READY_TIMEOUT_SECONDS).
            assert container["readinessProbe"]["timeoutSeconds"] >= 3
            sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
            assert pod["terminationGracePeriodSeconds"] > sleep + grace, name


@pytest.mark.parametrize("values", VALUE_SETS)
def test_secrets_are_read_from_existing_secrets_and_never_written_into_the_chart(values):
    objects = rendered(values)
    assert not of_kind(objects, "Secret")
    for config in of_kind(objects, "ConfigMap").values():
        assert not SECRET_VARIABLES & set(config["data"])
    for name, deployment in of_kind(objects, "Deployment").items():
        env = {item["name"]: item for item in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        for variable in ("JWT_SECRET", "MONGO_URL", "AMQP_URL"):
            assert "value" not in env[variable] and env[variable]["valueFrom"]["secretKeyRef"]["name"], name


def test_production_values_give_each_service_its_own_database_credentials():
    for name, deployment in of_kind(rendered("production"), "Deployment").items():
        service = name.removeprefix("stepwise-").removesuffix("-worker")
        env = {item["name"]: item for item in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["MONGO_URL"]["valueFrom"]["secretKeyRef"]["name"] == f"stepwise-mongodb-{service}"
        assert ("SMTP_URL" in env) == (name == "stepwise-notifications-worker")


def test_keda_scales_each_consuming_worker_on_its_queues_and_never_to_zero():
    objects = rendered("production")
    scaled = of_kind(objects, "ScaledObject")
    expected = {f"stepwise-{service}-worker": code_consumers(service) for service in SERVICES if code_consumers(service)}
    assert sorted(scaled) == sorted(expected)
    for name, consumers in expected.items():
        spec = scaled[name]["spec"]
        assert spec["minReplicaCount"] >= 1
        assert [t["metadata"]["queueName"] for t in spec["triggers"]] == [f"stepwise.{c}" for c in consumers]
        assert "replicas" not in of_kind(objects, "Deployment")[name]["spec"]
    auth = of_kind(objects, "TriggerAuthentication")
    assert all(a["spec"]["secretTargetRef"][0]["parameter"] == "host" for a in auth.values())
    # KEDA reads one URL (secrets.kedaAmqpUrl) while the pods get every node's (secrets.amqpUrl).
    assert {a["spec"]["secretTargetRef"][0]["name"] for a in auth.values()} == {"stepwise-rabbitmq-default-user"}
    for name in expected:
        env = {item["name"]: item for item in of_kind(objects, "Deployment")[name]["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["AMQP_URL"]["valueFrom"]["secretKeyRef"]["name"] == "stepwise-rabbitmq-nodes"


def test_keda_reads_the_pods_broker_secret_when_no_single_url_is_named():
    auth = of_kind(rendered("default", "--set", "worker.keda.enabled=true"), "TriggerAuthentication")
    assert auth and {a["spec"]["secretTargetRef"][0]["name"] for a in auth.values()} == {"stepwise-rabbitmq"}


@pytest.mark.parametrize("service", SERVICES)
def test_the_charts_consumer_lists_match_the_workers_subscriptions(service):
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["services"][service]["worker"]["consumers"] == code_consumers(service)


def test_network_policies_let_in_callers_and_scrapers_and_out_only_what_each_part_needs():
    policies = of_kind(rendered("production"), "NetworkPolicy")

    def egress_ports(name):
        return {port["port"] for rule in policies[name]["spec"]["egress"] for port in rule["ports"]}

    for service in SERVICES:
        api, worker = policies[f"stepwise-{service}"], policies[f"stepwise-{service}-worker"]
        assert [p["port"] for rule in api["spec"]["ingress"] for p in rule["ports"]] == [API_PORTS[service]] * 2
        assert [p["port"] for rule in worker["spec"]["ingress"] for p in rule["ports"]] == [9100]
        assert all(rule.get("from") for rule in api["spec"]["ingress"] + worker["spec"]["ingress"])
        # The API never talks to the broker (events go through the outbox).
        assert egress_ports(f"stepwise-{service}") == {53, 27017}
    assert egress_ports("stepwise-goals-worker") == {53, 27017, 5671}
    assert egress_ports("stepwise-notifications-worker") == {53, 27017, 5671, 587, 443}


def test_a_service_monitor_scrapes_every_api_and_worker_when_enabled():
    assert not of_kind(rendered("default"), "ServiceMonitor")
    monitors = of_kind(rendered("production"), "ServiceMonitor")
    assert len(monitors) == 6
    for name, monitor in monitors.items():
        endpoint = monitor["spec"]["endpoints"][0]
        assert (endpoint["port"], endpoint["path"]) == ("metrics" if name.endswith("-worker") else "http", "/metrics")


def test_the_alert_rules_ship_as_a_prometheus_rule_when_enabled():
    assert not of_kind(rendered("default"), "PrometheusRule")
    base = "https://git.clinic.example/stepwise/blob/v0.1.0/"
    [shipped] = of_kind(rendered("default", "--set", "prometheusRule.enabled=true",
                                 "--set", f"prometheusRule.runbookBaseUrl={base}"), "PrometheusRule").values()
    # The rules of deploy/observability, each runbook link made absolute, and nothing else changed.
    expected = copy.deepcopy(yaml.safe_load(RULES.read_text())["groups"])
    for group in expected:
        for rule in group["rules"]:
            rule["annotations"]["runbook_url"] = base + rule["annotations"]["runbook_url"]
    assert shipped["apiVersion"] == "monitoring.coreos.com/v1"
    assert shipped["spec"]["groups"] == expected
    assert "prometheusRule.runbookBaseUrl" in render_error("--set", "prometheusRule.runbookBaseUrl=git.clinic.example")


def test_tokens_may_be_checked_with_an_identity_providers_keys_instead_of_a_secret():
    keys = ["--set", "secrets.jwt.name=", "--set", "config.JWT_JWKS_URL=https://idp.clinic.example/jwks",
            "--set", "config.JWT_ISSUER=https://idp.clinic.example", "--set", "config.JWT_AUDIENCE=stepwise"]
    objects = rendered("default", *keys)
    assert not validation_errors_of(objects)
    for deployment in of_kind(objects, "Deployment").values():
        env = {item["name"] for item in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert "JWT_SECRET" not in env
    assert all(config["data"]["JWT_JWKS_URL"] == "https://idp.clinic.example/jwks"
               for config in of_kind(objects, "ConfigMap").values())
    # Neither a secret nor keys: refused.
    assert "Must validate at least one schema" in render_error("--set", "secrets.jwt.name=")
