"""The lakehouse pipeline's settings: ``CAUDAL_LAKEHOUSE_*``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from caudal.pipelines.definition import SettingsSection


class LakehouseSettings(SettingsSection):
    prefix: ClassVar[str] = "lakehouse_"

    dir: Path | None = Field(
        None, description="Lakehouse landing zone and Delta tables; unset = <data_dir>/lakehouse."
    )
    datasets: Path | None = Field(
        None, description="Datasets YAML of the lakehouse; unset = the shipped one."
    )
    max_file_mb: float = Field(
        512.0, description="Landing files over this size are quarantined instead of read."
    )
    max_files_per_trigger: int = Field(64, description="Landing files per micro-batch and dataset.")
    silver_max_mb_per_trigger: float = Field(
        64.0,
        description="Bronze Parquet per silver micro-batch (a soft limit): bounds the rows one "
        "MERGE sorts, so a long backlog is merged in several batches, not one that runs out of "
        "memory.",
    )
