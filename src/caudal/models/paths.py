"""Where shipped models live: ``models/`` at the project root (ONNX + card + sidecar JSON)."""

from __future__ import annotations

from pathlib import Path

import caudal
from caudal.errors import CaudalError

SHIPPED = Path(caudal.__file__).resolve().parents[2] / "models"


def model_path(configured: Path | None, default_name: str) -> Path:
    """The configured model file, else the shipped one; a clear error when neither exists."""
    path = configured or SHIPPED / default_name
    if not path.is_file():
        raise CaudalError(
            f"model file {path} not found",
            "rebuild it (`caudal train alerts`, `caudal images build-model`) or point the "
            "model setting at an ONNX file",
        )
    return path
