"""The lakehouse pipeline as the runner sees it: two queries per dataset, one per layer.

``bronze_<dataset>`` reads landing files or a topic and appends bronze (the Python workers
write its Parquet files); ``silver_<dataset>`` reads bronze as a Delta stream and does silver,
quarantine and gold. Bronze never waits for silver's MERGE, and its jobs go first when both
want the cores (scheduler pools); a file dataset's silver query starts only once its landing
zone's backlog is in bronze (or ``YIELD_S`` into the run), so its start-up (Delta's first use
in the JVM, the first batch's plan) is not paid while bronze ingests. Bronze thus ingests at
the speed of parsing and writing, and silver catches up in larger batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from caudal.pipelines import names
from caudal.pipelines.base import JobContext, Pipeline, QuerySpec, TopicSpec
from caudal.pipelines.lakehouse import bronze
from caudal.pipelines.lakehouse.bronze_sink import BronzeSink
from caudal.pipelines.lakehouse.caught_up import (
    all_files_committed,
    empty_files,
    files_waiting,
    has_read,
    silver_backlog,
)
from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.settings import LakehouseSettings
from caudal.pipelines.lakehouse.silver_sink import YIELD_S, SilverSink
from caudal.pipelines.lakehouse.spec import Dataset, Lakehouse, configured
from caudal.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

NAME = "lakehouse"


def bronze_query(dataset: Dataset) -> str:
    return f"bronze_{dataset.name}"


def silver_query(dataset: Dataset) -> str:
    return f"silver_{dataset.name}"


def _checkpoint(settings: Settings, query: str) -> Path:
    return names.checkpoint(settings, NAME, query)


def _bronze(settings: Settings, ds: Dataset, registry_url: str) -> QuerySpec:
    layout, name = Layout.of(settings), bronze_query(ds)
    if ds.is_stream:
        sink = BronzeSink(ds, layout, name)
        build = partial(bronze.topic_stream, dataset=ds, registry_url=registry_url)
        return QuerySpec(name, [settings.topic(str(ds.topic))], build, sink, pool="ingest")
    max_bytes = int(LakehouseSettings.of(settings).max_file_mb * 2**20)
    checkpoint = _checkpoint(settings, name)
    parse = bronze.file_parser(ds, max_bytes)
    sink = BronzeSink(ds, layout, name, parse, partial(empty_files, checkpoint))
    folder = layout.landing(str(ds.landing))
    caught_up = partial(all_files_committed, folder, checkpoint)
    build = partial(bronze.file_stream, dataset=ds)
    return QuerySpec(name, [], build, sink, caught_up=caught_up, pool="ingest")


def _silver(settings: Settings, lake: Lakehouse, ds: Dataset, chosen: list[Dataset]) -> QuerySpec:
    layout, name = Layout.of(settings), silver_query(ds)
    referenced = {e.dataset for e in ds.expectations if e.rule == "references"}
    upstream = {
        d.name: _in_silver(settings, d) for d in chosen if d.name in referenced and not d.is_stream
    }
    ingesting = starts_when = None
    if not ds.is_stream:
        bronze_checkpoint = _checkpoint(settings, bronze_query(ds))
        ingesting = partial(files_waiting, layout.landing(str(ds.landing)), bronze_checkpoint)
        starts_when = _idle_or_late(ingesting, YIELD_S)
    sink = SilverSink(lake, ds, layout, name, upstream, ingesting)
    table = layout.table("bronze", ds.name)
    return QuerySpec(
        name,
        [],
        partial(_read_bronze, table=table),
        sink,
        caught_up=partial(has_read, table, _checkpoint(settings, name)),
        pool="refine",
        after=bronze_query(ds),
        starts_when=starts_when,
    )


def _idle_or_late(busy: Callable[[], bool], seconds: float) -> Callable[[], bool]:
    """True once ``busy()`` is False, or ``seconds`` after it was first asked (driver)."""
    deadline: list[float] = []

    def ready() -> bool:
        if not deadline:
            deadline.append(time.monotonic() + seconds)
        return not busy() or time.monotonic() > deadline[0]

    return ready


def _in_silver(settings: Settings, ds: Dataset) -> Callable[[], Callable[[], bool]]:
    layout = Layout.of(settings)
    return partial(
        silver_backlog,
        layout.landing(str(ds.landing)),
        _checkpoint(settings, bronze_query(ds)),
        layout.table("bronze", ds.name),
        _checkpoint(settings, silver_query(ds)),
    )


def _read_bronze(spark: SparkSession, ctx: JobContext, table: Path) -> DataFrame:
    """Bronze's new commits as a stream; the table exists (``_prepare`` made it)."""
    max_mb = LakehouseSettings.of(ctx.settings).silver_max_mb_per_trigger
    return (
        spark.readStream.format("delta")
        .option("maxBytesPerTrigger", str(max(1, int(max_mb * 2**20))))
        .load(str(table))
    )


def lakehouse_pipeline(
    settings: Settings, registry_url: str, only: list[str] | None = None
) -> Pipeline:
    """Every dataset of the datasets file (or ``only`` those): its silver query, then its
    bronze query."""
    lake = configured(settings)
    chosen = [ds for name, ds in lake.datasets.items() if not only or name in only]
    layout = Layout.of(settings)
    return Pipeline(
        name=NAME,
        description=f"landing files + Avro topics → bronze/silver/gold Delta in {layout.root}",
        topics=[TopicSpec(settings.topic(str(ds.topic)), 2) for ds in chosen if ds.is_stream],
        feeders=[],
        queries=[_silver(settings, lake, ds, chosen) for ds in chosen]
        + [_bronze(settings, ds, registry_url) for ds in chosen],
        outputs=[str(layout.root)],
        start=lambda _spark, _ctx: _prepare(layout, chosen),
    )


def _prepare(layout: Layout, datasets: list[Dataset]) -> None:
    """Driver, before the queries: each file dataset's landing zone, so its stream can start
    (Spark's file source needs the folder) and users see where to drop files; and each bronze
    table, with every declared column, so the silver queries can start first: their start-up
    (table checks, Delta's first use in the JVM) is then not paid while bronze ingests."""
    for ds in datasets:
        if not ds.is_stream:
            layout.landing(str(ds.landing)).mkdir(parents=True, exist_ok=True)
        bronze.bronze_table(layout, ds).ensure(bronze.table_schema(ds))
