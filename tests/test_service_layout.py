"""Every service has one layout (docs/SERVICE_GUIDE.md): the same files for the same roles.

A file missing, a role left in a folder of its own (notifications once had ``work/``), a
handler written inside ``worker.py`` or a route reaching past the service layer into the
adapters fails here, naming the service and the file.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"
SERVICES = ("goals", "questionnaires", "notifications")

# The roles every service has.
REQUIRED = (
    "api/__init__.py", "api/schemas.py", "actions.py", "views.py", "events.py", "jobs.py",
    "adapters/__init__.py", "domain/__init__.py", "config.py", "app.py", "worker.py",
)
# What else may sit at a service's top level: handlers of its own events (a service that
# consumes only the shared erasure events has none), FHIR mappings, the one-off migration,
# worker metrics, templates, the gunicorn settings and the README.
ALLOWED = {
    *(path.split("/")[0] for path in REQUIRED),
    "__init__.py", "handlers.py", "fhir.py", "migrate.py", "metrics.py", "templates", "gunicorn.conf.py", "README.md",
}
# Libraries of I/O that the pure domain never imports.
IMPURE = ("pymongo", "pika", "flask", "flask_smorest", "requests", "smtplib", "shared.mongo", "shared.app")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _imported(tree: ast.Module) -> dict[str, str]:
    """Each name a module imports at its top level, with the module it comes from."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                found[alias.asname or alias.name] = node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name] = alias.name
    return found


def _modules(tree: ast.Module) -> set[str]:
    return set(_imported(tree).values())


def _called_name(node: ast.expr) -> str | None:
    """``f`` for ``f``, ``f(...)``, ``f.run`` and ``lambda: f(...)``: the name a handler or a
    job is made from."""
    if isinstance(node, ast.Lambda):
        node = node.body
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _origin(node: ast.expr, tree: ast.Module) -> str | None:
    """The module a handler or a job comes from, through the local names it was assigned to."""
    imported = _imported(tree)
    assigned = {
        target.id: _called_name(node.value)
        for node in ast.walk(tree) if isinstance(node, ast.Assign)
        for target in node.targets if isinstance(target, ast.Name)
    }
    name = _called_name(node)
    while name in assigned and name not in imported:
        name = assigned[name]
    return None if name is None else imported.get(name)


@pytest.mark.parametrize("service", SERVICES)
def test_every_role_has_its_file(service):
    root = SERVICES_DIR / service
    missing = [path for path in REQUIRED if not (root / path).is_file()]
    assert not missing, f"services/{service} lacks {missing} (docs/SERVICE_GUIDE.md)"
    unknown = sorted(p.name for p in root.iterdir() if p.name not in ALLOWED and p.name != "__pycache__")
    assert not unknown, f"services/{service} has {unknown}, which no role of docs/SERVICE_GUIDE.md names"


@pytest.mark.parametrize("service", SERVICES)
def test_the_worker_only_wires(service):
    """``worker.py`` declares which handler takes which events and which jobs run; the handlers
    are in ``handlers.py`` (or ``shared.client_data`` for the erasure events), the jobs in
    ``jobs.py``."""
    tree = _tree(SERVICES_DIR / service / "worker.py")
    defined = [node for node in ast.walk(tree) if isinstance(node, (ast.ClassDef, ast.AsyncFunctionDef))]
    nested = [
        inner.name
        for outer in tree.body if isinstance(outer, ast.FunctionDef)
        for inner in ast.walk(outer) if inner is not outer and isinstance(inner, ast.FunctionDef)
    ]
    assert not defined and not nested, f"services/{service}/worker.py defines {defined or nested}: move it to handlers.py"
    subscriptions = [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _called_name(node.func) == "Subscription"
    ]
    for subscription in subscriptions:
        assert _origin(subscription.args[2], tree) == f"services.{service}.handlers", (
            f"services/{service}/worker.py: the handler of {ast.unparse(subscription.args[0])} is not from handlers.py"
        )
    has_handlers = (SERVICES_DIR / service / "handlers.py").is_file()
    assert has_handlers == bool(subscriptions), f"services/{service}: handlers.py exactly when the worker takes events of its own"
    jobs = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and _called_name(node.func) == "PeriodicJob"]
    assert jobs, f"services/{service}/worker.py runs no job of jobs.py"
    for job in jobs:
        assert _origin(job.args[2], tree) == f"services.{service}.jobs", (
            f"services/{service}/worker.py: the job {ast.unparse(job.args[0])} is not from jobs.py"
        )


@pytest.mark.parametrize("service", SERVICES)
def test_routes_reach_storage_only_through_the_service_layer(service):
    """Route modules call ``actions`` and ``views``; only ``api/common.py`` builds the
    service-layer object for the caller, and so names what it is made of."""
    for path in sorted((SERVICES_DIR / service / "api").glob("*.py")):
        if path.name == "common.py":
            continue
        adapters = sorted(m for m in _modules(_tree(path)) if m.startswith(f"services.{service}.adapters"))
        assert not adapters, f"services/{service}/api/{path.name} imports {adapters}: call actions instead"


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_is_pure(service):
    for path in sorted((SERVICES_DIR / service / "domain").glob("*.py")):
        modules = _modules(_tree(path))
        impure = sorted(m for m in modules if m.split(".")[0] in IMPURE or m in IMPURE or any(
            m == f"services.{service}.{layer}" or m.startswith(f"services.{service}.{layer}.")
            for layer in ("adapters", "api", "actions", "handlers", "jobs", "worker", "app")
        ))
        assert not impure, f"services/{service}/domain/{path.name} imports {impure}: the domain does no I/O"
