"""The lakehouse pipeline: landing files + Avro topics → bronze / silver / gold Delta tables."""

from pathlib import Path

from caudal.pipelines.definition import Page, PipelineDefinition
from caudal.pipelines.lakehouse.settings import LakehouseSettings

PIPELINE = PipelineDefinition(
    name="lakehouse",
    commands="caudal.pipelines.lakehouse.cli",
    settings=LakehouseSettings,
    page=Page(
        Path(__file__).parent / "page.py",
        "Lakehouse",
        ":material/database:",
        "Bronze / silver / gold Delta tables of `caudal run lakehouse`: rows, freshness, "
        "history and sample rows of each table, quarantined rows by rule.",
        "lakehouse",
    ),
    docs="docs/lakehouse.md",
)
