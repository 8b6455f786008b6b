"""The shell scripts: they parse, are executable, refuse what they do not know, and find the
repo root from any directory. scripts/servers also runs for real, from a copy of the repo on free
ports, beside the servers the tests use (which nothing here starts or stops)."""

import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pymongo
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = [
    "scripts/servers", "scripts/test", "scripts/stack", "scripts/env", "scripts/install-helm", "scripts/install-tools",
    "scripts/backup", "scripts/restore", ".ci/run",
]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_executable_bash_that_parses(script):
    path = ROOT / script
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    assert path.stat().st_mode & stat.S_IXUSR, f"{script} is not executable"
    subprocess.run(["bash", "-n", str(path)], check=True)


@pytest.mark.parametrize(
    "command",
    [
        ["scripts/servers"],
        ["scripts/servers", "restart"],
        ["scripts/servers", "stop", "sqlite"],
        ["scripts/stack", "bogus"],
    ],
)
def test_unknown_commands_are_refused(command, tmp_path):
    result = subprocess.run(
        [str(ROOT / command[0]), *command[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert "usage" in result.stderr or "unknown server" in result.stderr


def test_servers_status_works_from_another_directory(tmp_path):
    result = subprocess.run(
        [str(ROOT / "scripts" / "servers"), "status"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    # 0: all answer, 3: one is down; either way it reports all three.
    assert result.returncode in (0, 3), result.stderr
    assert "RabbitMQ" in result.stdout and "PostgreSQL" in result.stdout and "FerretDB" in result.stdout


def test_servers_refuses_a_port_that_is_not_one():
    result = subprocess.run(
        [str(ROOT / "scripts" / "servers"), "status"],
        env={**os.environ, "STEPWISE_POSTGRES_PORT": "54329x"}, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert "STEPWISE_POSTGRES_PORT=54329x is not a TCP port" in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def copy_of_repo(tmp_path):
    """scripts/servers and what it builds, in a directory of their own, on ports of their own."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "servers", repo / "scripts" / "servers")
    shutil.copytree(ROOT / "tools" / "ferretdb", repo / "tools" / "ferretdb")
    env = {**os.environ, "STEPWISE_MONGO_PORT": str(free_port()), "STEPWISE_POSTGRES_PORT": str(free_port())}

    def servers(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(repo / "scripts" / "servers"), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=600,
        )

    servers.repo, servers.env = repo, env
    try:
        yield servers
    finally:
        servers("stop", "ferretdb", "postgresql")
        # A cluster kept out of the copy's reach (see scripts/servers) is removed with the copy.
        location = repo / ".local" / "data" / "postgresql.location"
        if location.exists():
            shutil.rmtree(location.read_text().strip(), ignore_errors=True)


def test_servers_start_status_and_stop_their_own_postgresql_and_ferretdb(copy_of_repo):
    servers = copy_of_repo
    mongo_url = f"mongodb://127.0.0.1:{servers.env['STEPWISE_MONGO_PORT']}"

    first = servers("start")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "creating the PostgreSQL cluster" in first.stdout and "FerretDB is up" in first.stdout
    with pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        client.stored.things.insert_one({"_id": 1, "kind": "kept"})

    again = servers("start")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already answers on 127.0.0.1:" + servers.env["STEPWISE_MONGO_PORT"] in again.stdout
    assert "starting" not in again.stdout

    status = servers("status")
    assert status.returncode == 0, status.stdout + status.stderr
    lines = {line.split()[1]: line for line in status.stdout.splitlines() if line.startswith("[servers]")}
    assert "up" in lines["PostgreSQL"] and "(started by scripts/servers" in lines["PostgreSQL"]
    assert "up" in lines["FerretDB"] and "(started by scripts/servers, pid" in lines["FerretDB"]

    stopped = servers("stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "stopping FerretDB" in stopped.stdout and "stopping PostgreSQL" in stopped.stdout
    down = servers("status")
    assert down.returncode == 3
    assert "PostgreSQL  down" in down.stdout and "FerretDB    down" in down.stdout

    # The cluster is kept: a new start finds the data it left.
    restarted = servers("start")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "creating the PostgreSQL cluster" not in restarted.stdout
    with pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        assert client.stored.things.find_one({"_id": 1}) == {"_id": 1, "kind": "kept"}

