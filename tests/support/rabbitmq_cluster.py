"""The three-node RabbitMQ cluster of ``scripts/rabbitmq-cluster``, driven from a test: its
nodes' AMQP URLs, which node leads a quorum queue, and the two ways a node is lost (its app
stopped, its Erlang VM killed)."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "rabbitmq-cluster"


class RabbitMQCluster:
    def __init__(self):
        self.amqp_url = ""

    def run(self, *args: str, timeout: float = 180) -> str:
        result = subprocess.run([str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"scripts/rabbitmq-cluster {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    def start(self) -> RabbitMQCluster:
        """Start (or bring back) every node and wait until all three run in the cluster."""
        self.run("start")
        self.amqp_url = self.run("urls").strip().removeprefix("AMQP_URL=")
        return self

    def stop(self) -> None:
        self.run("stop", timeout=120)

    def leader(self, queue: str) -> str:
        return self.run("leader", queue).strip()

    def stop_app(self, node: str) -> None:
        """``rabbitmqctl stop_app``: the node leaves, closing its clients' connections."""
        self.run("ctl", node, "stop_app")

    def kill(self, node: str) -> None:
        """SIGKILL to the node's Erlang VM: no goodbye to its clients or its peers."""
        os.kill(int(self.run("pid", node)), signal.SIGKILL)
