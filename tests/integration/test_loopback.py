"""Every server Caudal starts listens on loopback only, unless a setting or flag says otherwise.

Started here as a user would get them: the embedded Kafka broker, the Spark driver (its RPC,
block manager and Py4J ports), the schema registry, the trades metrics endpoint, the trades
market simulator, the SeaweedFS S3 endpoint and the web UI. Each process's listening sockets
are read from the OS (psutil), so a port opened by a library we did not configure counts too.
"""

from __future__ import annotations

import ipaddress
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from caudal.broker.embedded import running_broker
from caudal.broker.process import free_port
from caudal.metrics import PipelineMetrics
from caudal.pipelines.trades.market import DEFAULT_SYMBOLS, MarketSimulator
from caudal.pipelines.trades.server import FinnhubServer
from caudal.pipelines.trades.sources import SimulatedSource
from caudal.registry.server import RegistryServer
from caudal.settings import Settings
from caudal.storage.seaweedfs import start_store, stop_store
from tests.support.browser import spawn, stop, wait_until_serving
from tests.support.cli import cli_env


def listening(pids: set[int]) -> dict[int, list[tuple[str, int]]]:
    """Listening TCP/UDP addresses of each pid and all its descendants."""
    tree = set(pids)
    for pid in pids:
        tree |= {child.pid for child in psutil.Process(pid).children(recursive=True)}
    found: dict[int, list[tuple[str, int]]] = {}
    for conn in psutil.net_connections(kind="inet"):
        bound = conn.status == psutil.CONN_LISTEN or (conn.type == 2 and not conn.raddr)
        if conn.pid in tree and bound and conn.laddr:
            found.setdefault(conn.pid, []).append((conn.laddr.ip, conn.laddr.port))
    return found


def not_loopback(found: dict[int, list[tuple[str, int]]]) -> list[str]:
    return [
        f"pid {pid} ({psutil.Process(pid).name()}) listens on {ip}:{port}"
        for pid, addresses in found.items()
        for ip, port in addresses
        if not _loopback(ip)
    ]


def _loopback(ip: str) -> bool:
    """127.0.0.0/8 and ::1, and 127.x written as IPv6 (``::ffff:127.0.0.1``: the JVM's sockets)."""
    address = ipaddress.ip_address(ip)
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


@pytest.fixture
def ui(tmp_path: Path, settings: Settings) -> Iterator[subprocess.Popen[Any]]:
    port = free_port()
    log = tmp_path / "ui.log"
    server = spawn(["ui", "--port", str(port)], cli_env(settings.data_dir), log)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", server, log)
        yield server
    finally:
        stop(server)


@pytest.mark.slow
def test_every_server_caudal_starts_binds_loopback_only(
    settings: Settings, bootstrap: str, spark: Any, ui: subprocess.Popen[Any], tmp_path: Path
) -> None:
    broker = running_broker(settings)
    assert broker is not None
    store = start_store(Settings(data_dir=tmp_path / "s3"))
    registry = RegistryServer(tmp_path / "registry").start()
    metrics = PipelineMetrics("loopback")
    metrics.serve(free_port())
    simulator = MarketSimulator(DEFAULT_SYMBOLS, 10.0, int(time.time() * 1000), seed=1)
    market = FinnhubServer(SimulatedSource(simulator, max_trades=10))
    try:
        with market.running():
            found = listening({*broker.pids, store.pid, ui.pid, psutil.Process().pid})
        assert len([a for addresses in found.values() for a in addresses]) >= 8, found
        assert not_loopback(found) == []
    finally:
        metrics.stop()
        registry.stop()
        stop_store(Settings(data_dir=tmp_path / "s3"))


def test_a_wildcard_listener_is_reported() -> None:
    """The check above can fail: a socket on every interface is named."""
    import socket

    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        problems = not_loopback(listening({psutil.Process().pid}))
    assert any("0.0.0.0" in p for p in problems), problems
