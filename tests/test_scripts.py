"""The shell scripts: they parse, are executable, refuse what they do not know, and find the
repo root from any directory. Nothing here starts or stops a server."""

import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = [
    "scripts/servers", "scripts/test", "scripts/stack", "scripts/env", "scripts/install-helm", "scripts/backup",
    "scripts/restore", ".ci/run",
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
        ["scripts/servers", "stop", "postgres"],
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
    # 0: both answer, 3: one is down; either way it reports both.
    assert result.returncode in (0, 3), result.stderr
    assert "RabbitMQ" in result.stdout and "FerretDB" in result.stdout

