"""The alerts pipeline's settings: ``CAUDAL_ALERTS_*``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from caudal.pipelines.definition import SettingsSection


class AlertsSettings(SettingsSection):
    prefix: ClassVar[str] = "alerts_"

    model: Path | None = Field(
        None, description="ONNX stamp classifier (+ .json sidecar); unset = the shipped one."
    )
