"""The bronze streams: landing files (Spark's file source) and Avro topics (Spark's Kafka source).

Both hand rows in the ``records.parsed_schema`` shape to the sink. The file source keeps the
list of files each micro-batch took in the query's checkpoint, which is what makes every file
read exactly once across restarts; only paths and sizes travel through Spark, the executors
open the files themselves (Python). Kafka offsets live in the checkpoint too; events are
decoded by spark-avro in the JVM (``events``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from caudal.pipelines.base import JobContext
from caudal.pipelines.lakehouse.events import decode, writer_schemas
from caudal.pipelines.lakehouse.landing import read_file
from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.records import spark_schema
from caudal.pipelines.lakehouse.settings import LakehouseSettings
from caudal.pipelines.lakehouse.spec import Dataset

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

BINARY_FILE_SCHEMA = "path string, modificationTime timestamp, length bigint, content binary"


def file_parser(
    dataset: Dataset, max_bytes: int
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The ``mapInArrow`` function: batches of ``path, length`` → bronze rows (built on the
    driver, shipped to the executors)."""

    def parse(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Runs on executors, per Arrow batch of the file stream's paths (mapInArrow)."""
        for batch in batches:
            for path, size in zip(
                batch["path"].to_pylist(), batch["length"].to_pylist(), strict=True
            ):
                yield from read_file(dataset, path, size, max_bytes)

    return parse


def file_stream(spark: SparkSession, ctx: JobContext, dataset: Dataset) -> DataFrame:
    folder = Layout.of(ctx.settings).landing(str(dataset.landing))
    section = LakehouseSettings.of(ctx.settings)
    max_bytes = int(section.max_file_mb * 2**20)
    files = (
        spark.readStream.format("binaryFile")
        .schema(BINARY_FILE_SCHEMA)
        .option("maxFilesPerTrigger", str(section.max_files_per_trigger))
        .load(str(folder))
        .select("path", "length")
    )
    return files.mapInArrow(file_parser(dataset, max_bytes), spark_schema(dataset))


def topic_stream(
    spark: SparkSession, ctx: JobContext, dataset: Dataset, registry_url: str
) -> DataFrame:
    """The subject's schemas are read from the registry here, once, when the query starts."""
    topic = ctx.settings.topic(str(dataset.topic))
    schemas = writer_schemas(registry_url, dataset.registry_subject(topic))
    return decode(ctx.read_topics(spark, [topic]), dataset, schemas)
