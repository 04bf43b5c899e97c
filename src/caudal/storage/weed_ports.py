"""Ports of the embedded SeaweedFS store, and the Unix sockets weed names after them.

``weed mini`` opens an HTTP and a gRPC port for each of its services. By weed's convention a
gRPC port is its HTTP port + 10000, and its maintenance worker dials the admin server there
whatever ``-admin.port.grpc`` says (measured on 4.48), so every service keeps the convention.
"""

from __future__ import annotations

import contextlib
import socket
import stat
from pathlib import Path

from caudal.broker.exceptions import PortInUse
from caudal.broker.process import free_port

SERVICES = ("s3", "master", "volume", "filer", "admin")
GRPC_OFFSET = 10000
SOCKET_DIR = Path("/tmp")
"""weed 4.48 adds a Unix socket per service here (not under $TMPDIR), named after its port."""


def choose_ports(wanted: int | None, previous: dict[str, int]) -> dict[str, int]:
    """HTTP port per service: the previous ones when still free (and as set), else fresh.

    Reusing them keeps the master's state directory, which weed names after the master port.
    """
    if wanted is not None and not _pair_free(wanted):
        raise PortInUse(
            f"CAUDAL_SEAWEEDFS_PORT={wanted}: port {wanted} or its gRPC port "
            f"{wanted + GRPC_OFFSET} is in use or out of range",
            "pick another CAUDAL_SEAWEEDFS_PORT (below 55536), or unset it to take a free one",
        )
    reusable = set(previous) == set(SERVICES) and wanted in (None, previous["s3"])
    if reusable and all(_pair_free(p) for p in previous.values()):
        return dict(previous)
    ports = {"s3": wanted} if wanted is not None else {}
    for service in SERVICES:
        while service not in ports:
            port = free_port()
            used = {q + off for q in ports.values() for off in (0, GRPC_OFFSET)}
            if _pair_free(port) and not {port, port + GRPC_OFFSET} & used:
                ports[service] = port
    return ports


def remove_sockets(ports: dict[str, int]) -> None:
    """Delete the sockets weed left for ``ports``: it keeps its S3 one after a clean stop, and
    all seven after a kill. Only for ports nobody listens on, so never a live weed's."""
    for port in ports.values():
        if not _pair_free(port):
            continue
        for candidate in (port, port + GRPC_OFFSET):
            for path in SOCKET_DIR.glob(f"seaweedfs-*-{candidate}.sock"):
                with contextlib.suppress(OSError):
                    if stat.S_ISSOCK(path.lstat().st_mode):
                        path.unlink()


def _pair_free(port: int) -> bool:
    """``port`` and its gRPC twin can be listened on, as weed would (with SO_REUSEADDR, so
    connections of a previous run left in TIME_WAIT do not count as taken)."""
    if not 0 < port <= 65535 - GRPC_OFFSET:
        return False
    for candidate in (port, port + GRPC_OFFSET):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                return False
    return True
