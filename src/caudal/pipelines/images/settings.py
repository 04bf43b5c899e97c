"""The images pipeline's settings: ``CAUDAL_IMAGES_*``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from caudal.pipelines.definition import SettingsSection


class ImagesSettings(SettingsSection):
    prefix: ClassVar[str] = "images_"

    model: Path | None = Field(
        None, description="ONNX image classifier (+ .json sidecar); unset = the shipped one."
    )
    max_bytes: int = Field(10 * 2**20, description="Largest accepted upload, bytes.")
    max_pixels: int = Field(
        40_000_000, description="Largest accepted image, pixels (decompression-bomb guard)."
    )
