"""Background server processes owned by Caudal: pid file, log file, start, stop, liveness.

The pid file is JSON (pid, command, port, extra facts) so ``status`` can describe a server that
another shell started, and a pid file whose process is gone is recognised as stale.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from caudal.broker.exceptions import BrokerError


@dataclass
class ProcessRecord:
    """What a pid file says about a running server."""

    pid: int
    command: list[str]
    port: int
    started_at: float
    facts: dict[str, Any] = field(default_factory=dict)


def configured_binary(path: Path | None, variable: str, what: str) -> Path | None:
    """The binary a setting points at; None when unset, a clear error when it is not a file."""
    if path is None:
        return None
    if not path.is_file():
        raise BrokerError(f"{variable}={path} is not a file", f"point it at {what} or unset it")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nobody listens on ``port``. SO_REUSEADDR, as servers bind: connections a killed server
    left in TIME_WAIT do not make its port look taken (it could not be reused after kill -9)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def pid_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state != "Z"


class ManagedProcess:
    """One named server under ``directory``: ``<name>.pid`` and ``<name>.log``."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name
        self.pid_file = directory / f"{name}.pid"
        self.log_file = directory / f"{name}.log"

    def read(self) -> ProcessRecord | None:
        """The pid file's record, or None when there is no pid file (or it is unreadable)."""
        try:
            data = json.loads(self.pid_file.read_text())
            return ProcessRecord(**data)
        except (OSError, ValueError, TypeError):
            return None

    def running(self) -> ProcessRecord | None:
        """The record of a live process; a stale pid file is left for the caller to report."""
        record = self.read()
        if record is not None and pid_alive(record.pid) and self._is_ours(record):
            return record
        return None

    def is_stale(self) -> bool:
        return self.pid_file.exists() and self.running() is None

    def start(
        self,
        command: Sequence[str],
        port: int,
        env: Mapping[str, str] | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> ProcessRecord:
        """Start ``command`` detached from this terminal, logging to the log file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                list(command),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        record = ProcessRecord(proc.pid, list(command), port, time.time(), dict(facts or {}))
        self.pid_file.write_text(json.dumps(asdict(record)))
        return record

    def signal_stop(self) -> None:
        """SIGTERM without waiting, so several servers can shut down at once."""
        record = self.running()
        if record is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(record.pid, signal.SIGTERM)

    def stop(self, timeout_s: float = 10.0) -> bool:
        """SIGTERM, then SIGKILL after ``timeout_s``; removes the pid file. False if none ran."""
        record = self.running()
        if record is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while pid_alive(record.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(record.pid):
            os.kill(record.pid, signal.SIGKILL)
        self._reap(record.pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @staticmethod
    def _reap(pid: int) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)

    @staticmethod
    def _is_ours(record: ProcessRecord) -> bool:
        """Guards against pid reuse: the live process must run the recorded program.

        An empty command line is a child still inside ``execve`` (``Popen`` returns once the
        close-on-exec pipe closes, before the kernel sets the new arguments; measured): ours.
        """
        try:
            cmdline = Path(f"/proc/{record.pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return True
        if not cmdline[0]:
            return True
        return bool(record.command) and os.path.basename(cmdline[0].decode()) == os.path.basename(
            record.command[0]
        )
