"""The emergencies pipeline's settings: ``CAUDAL_EMERGENCIES_*``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from caudal.pipelines.definition import SettingsSection


class EmergenciesSettings(SettingsSection):
    prefix: ClassVar[str] = "emergencies_"

    routes: Path | None = Field(
        None, description="SQL file of the 112 call routes (CREATE STREAM); unset = shipped."
    )
