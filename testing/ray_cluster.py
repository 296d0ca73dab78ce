"""A real Ray cluster on this machine for tests and benchmarks: a head and worker nodes, each a
``ray start --block`` process of its own.

Why not ``ray stop`` to tear it down: it stops every Ray process on the machine, other users'
clusters included, and takes no address. Each node here runs in its own process group with its
own temp dir, so :meth:`LocalRayCluster.stop` ends exactly the processes this object started
(the group, then any straggler whose command line names this cluster's temp dir), and
:meth:`kill_worker` kills one node the way a crashed machine would.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: What ``ray start`` prints once its node registered with the cluster.
STARTED = "Ray runtime started"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node_ip() -> str:
    """This machine's address as Ray sees it. Why not 127.0.0.1: Ray 2.60 registers a node
    under the address it detects whatever ``--node-ip-address`` says, and a worker node or
    driver told 127.0.0.1 then finds no head in the GCS."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 80))  # no packet is sent: this only picks a route
            return sock.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def ray_command() -> str:
    """The ``ray`` script of this interpreter's environment (so nodes run this huisou)."""
    beside = Path(sys.executable).with_name("ray")
    return str(beside) if beside.exists() else (shutil.which("ray") or "ray")


class LocalRayCluster:
    """``with LocalRayCluster(workers=2) as cluster: ... cluster.address ...``"""

    def __init__(self, workers: int = 2, cpus_per_worker: int = 1, head_cpus: int = 0,
                 object_store_mb: int = 150, timeout: float = 120.0) -> None:
        self.workers = workers
        self.cpus_per_worker = cpus_per_worker
        self.head_cpus = head_cpus
        self.object_store_mb = object_store_mb
        self.timeout = timeout
        # Short: Ray puts unix sockets under it, and their paths are limited to 107 bytes.
        self.temp_dir = tempfile.mkdtemp(prefix="hray", dir="/tmp")
        self.port = free_port()
        self.ip = node_ip()
        self.address = f"{self.ip}:{self.port}"
        self.head: subprocess.Popen[bytes] | None = None
        self.nodes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> LocalRayCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _node_ports(self) -> list[str]:
        """Ports every node would otherwise share on one machine (the agents' defaults)."""
        return [f"--temp-dir={self.temp_dir}",
                f"--dashboard-agent-listen-port={free_port()}",
                f"--dashboard-agent-grpc-port={free_port()}",
                f"--metrics-export-port={free_port()}",
                f"--runtime-env-agent-port={free_port()}",
                f"--object-store-memory={self.object_store_mb * 1024 * 1024}"]

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        log = open(Path(self.temp_dir) / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
        return subprocess.Popen([ray_command(), "start", "--block", *args], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)

    def start(self) -> None:
        self.head = self._spawn(
            ["--head", f"--port={self.port}", f"--node-ip-address={self.ip}",
             f"--num-cpus={self.head_cpus}", "--include-dashboard=false",
             f"--dashboard-port={free_port()}",
             *self._node_ports()], "head")
        self._wait_for_port()
        for number in range(self.workers):
            self.nodes.append(self._start_worker(number))

    def _start_worker(self, number: int, tries: int = 3) -> subprocess.Popen[bytes]:
        """One worker node, started alone and waited for: Ray gives a raylet 30 s to
        register, which two nodes starting at once on a loaded 2-core machine can miss; a
        node that missed it exits, and is started again."""
        name = f"worker{number}"
        for _attempt in range(tries):
            proc = self._spawn(
                [f"--address={self.address}", f"--node-ip-address={self.ip}",
                 f"--num-cpus={self.cpus_per_worker}", *self._node_ports()], name)
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline and proc.poll() is None:
                if STARTED in self.log(name):
                    return proc
                time.sleep(0.5)
            _kill_group(proc)
        raise TimeoutError(f"ray worker node {number} did not start: {self.log(name)[-800:]}")

    def _wait_for_port(self) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.head is not None and self.head.poll() is not None:
                raise RuntimeError(f"ray head exited: {self.log('head')[-800:]}")
            try:
                with socket.create_connection((self.ip, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"ray head did not listen on {self.address} in {self.timeout} s")

    def log(self, name: str) -> str:
        path = Path(self.temp_dir) / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill_worker(self, number: int = 0) -> None:
        """SIGKILL one worker node's whole process group: its raylet and its workers die at
        once, as when a machine is lost."""
        _kill_group(self.nodes[number])

    def stop(self) -> None:
        for proc in [*self.nodes, *([self.head] if self.head else [])]:
            _kill_group(proc)
        _kill_stragglers(self.temp_dir)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)


def _kill_stragglers(temp_dir: str) -> None:
    """Processes of this cluster that left its process groups (their command line names its
    temp dir, which no other cluster shares)."""
    try:
        import psutil
    except ImportError:
        return
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or ())
        if temp_dir in cmdline and proc.pid != os.getpid():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                proc.kill()
