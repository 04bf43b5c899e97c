"""Bronze: landing files and Avro topics appended to a Delta table by the Python workers.

Two streams feed it. Landing files come from Spark's file source, which keeps the list of
files each micro-batch took in the query's checkpoint (every file read exactly once across
restarts); only paths and sizes travel through Spark, the executors open, parse and write the
files themselves. Topic records come from Spark's Kafka source, decoded by spark-avro in the
JVM (``events``). Either way a task writes its good rows as one Parquet part of the bronze
table (``delta_parts``) and hands back one row per part and one per rejected input; the sink
commits the parts and quarantines the rejects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from caudal.pipelines.base import JobContext
from caudal.pipelines.lakehouse.events import decode, writer_schemas
from caudal.pipelines.lakehouse.landing import read_file
from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.records import parsed_schema
from caudal.pipelines.lakehouse.settings import LakehouseSettings
from caudal.pipelines.lakehouse.spec import Dataset
from caudal.sinks.delta_parts import PART_FIELDS, Part, PartsTable, PartWriter

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

BINARY_FILE_SCHEMA = "path string, modificationTime timestamp, length bigint, content binary"
Batches = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]
"""A ``mapInArrow`` function."""

PARTITION = "_ingest_date"
REJECT_ONLY = ("_rule", "_reason", "_raw")
"""Columns of a rejected row only: bronze rows have none of them."""
STAMPS = [pa.field("_ingested_at", pa.timestamp("us", tz="UTC")), pa.field("_batch_id", pa.int64())]
OUT_SCHEMA = pa.schema(
    [*PART_FIELDS, pa.field("part_rejects", pa.int64())]
    + [pa.field(c, pa.string()) for c in REJECT_ONLY]
    + [pa.field(c, pa.string()) for c in ("_source_file", "_topic")]
    + [pa.field(c, pa.int64()) for c in ("_row", "_partition", "_offset")]
)
"""What a bronze task hands back: rejected inputs (``_rule`` set), then one summary row
(``part_*`` set: its part, if it wrote one, and how many rows it rejected)."""


def file_schema(dataset: Dataset) -> pa.Schema:
    """Columns of bronze's Parquet parts: the parsed text and metadata, then the stamps."""
    parsed = parsed_schema(dataset)
    return pa.schema([f for f in parsed if f.name not in REJECT_ONLY] + STAMPS)


def table_schema(dataset: Dataset) -> pa.Schema:
    """Bronze's table schema: the parts' columns and the partition column."""
    return file_schema(dataset).append(pa.field(PARTITION, pa.string()))


def bronze_table(layout: Layout, dataset: Dataset) -> PartsTable:
    return PartsTable(layout.table("bronze", dataset.name), [PARTITION])


def partition(ingested_at: datetime) -> dict[str, str]:
    return {PARTITION: ingested_at.date().isoformat()}


def file_parser(dataset: Dataset, max_bytes: int) -> Batches:
    """Batches of ``path, length`` → parsed rows (built on the driver, run on executors)."""

    def parse(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Runs on executors, per Arrow batch of the file stream's paths."""
        for batch in batches:
            for path, size in zip(
                batch["path"].to_pylist(), batch["length"].to_pylist(), strict=True
            ):
                yield from read_file(dataset, path, size, max_bytes)

    return parse


def bronze_writer(
    dataset: Dataset,
    table: str,
    batch_id: int,
    ingested_at: datetime,
    parse: Batches | None,
    write: bool = True,
) -> Batches:
    """The ``mapInArrow`` function of one bronze batch: the micro-batch's input (paths for
    ``parse``, else parsed rows) → ``OUT_SCHEMA`` rows. ``write`` False (a replay whose parts
    are committed) only counts the rows and hands back the rejects again."""
    schema = file_schema(dataset)
    stamped_at = pa.scalar(ingested_at, STAMPS[0].type)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Runs on executors: one part per task, streamed as the rows come."""
        # min/max only of the stamps: silver reads bronze whole; a reader by time still skips
        part = PartWriter(table, partition(ingested_at), write, [f.name for f in STAMPS])
        rejects = 0
        for batch in parse(batches) if parse else batches:
            good = batch
            if batch["_rule"].null_count < batch.num_rows:  # rejects: copy out the good rows
                rejected = pc.is_valid(batch["_rule"])
                yield _rejects(batch.filter(rejected))
                rejects += pc.count(batch["_rule"]).as_py()
                good = batch.filter(pc.invert(rejected))
            n = good.num_rows
            stamps = [pa.repeat(stamped_at, n), pa.repeat(pa.scalar(batch_id, pa.int64()), n)]
            columns = [good[f.name] for f in schema if f not in STAMPS] + stamps
            part.write(pa.RecordBatch.from_arrays(columns, schema=schema))
        done = part.close()
        if done is not None or rejects:
            yield _part(done or Part("", 0, 0, 0), rejects)

    return run


def _rejects(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Runs on executors (bronze_writer)."""
    n = batch.num_rows
    columns = [
        batch[f.name].cast(f.type) if f.name in batch.schema.names else pa.nulls(n, f.type)
        for f in OUT_SCHEMA
    ]
    return pa.RecordBatch.from_arrays(columns, schema=OUT_SCHEMA)


def _part(part: Part, rejects: int) -> pa.RecordBatch:
    """The task's summary row: its part and how many rejects it handed back before.

    Runs on executors (bronze_writer)."""
    values = {"part_path": part.path, "part_bytes": part.bytes, "part_rows": part.rows}
    values |= {"part_modified": part.modified, "part_rejects": rejects}
    return pa.RecordBatch.from_pylist([values], schema=OUT_SCHEMA)


def file_stream(spark: SparkSession, ctx: JobContext, dataset: Dataset) -> DataFrame:
    """The landing folder's new files, as ``path, length`` (the sink parses them)."""
    folder = Layout.of(ctx.settings).landing(str(dataset.landing))
    section = LakehouseSettings.of(ctx.settings)
    return (
        spark.readStream.format("binaryFile")
        .schema(BINARY_FILE_SCHEMA)
        .option("maxFilesPerTrigger", str(section.max_files_per_trigger))
        .load(str(folder))
        .select("path", "length")
    )


def topic_stream(
    spark: SparkSession, ctx: JobContext, dataset: Dataset, registry_url: str
) -> DataFrame:
    """The subject's schemas are read from the registry here, once, when the query starts."""
    topic = ctx.settings.topic(str(dataset.topic))
    schemas = writer_schemas(registry_url, dataset.registry_subject(topic))
    return decode(ctx.read_topics(spark, [topic]), dataset, schemas)
