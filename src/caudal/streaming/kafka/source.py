"""The ``caudal-kafka`` data source: the entry point Spark instantiates from options."""

from __future__ import annotations

from pyspark.sql.datasource import (
    DataSource,
    DataSourceReader,
    DataSourceStreamReader,
    DataSourceStreamWriter,
    DataSourceWriter,
)
from pyspark.sql.types import StructType

from caudal.streaming.kafka import FORMAT
from caudal.streaming.kafka.options import parse_source_options
from caudal.streaming.kafka.reader import KafkaBatchReader, KafkaStreamReader
from caudal.streaming.kafka.writer import KafkaBatchWriter, KafkaStreamWriter, parse_sink_options

_COLUMNS = (
    "key binary, value binary, topic string, partition int, offset long, "
    "timestamp timestamp, timestampType int"
)


class KafkaDataSource(DataSource):
    """Spark's Kafka source and sink, same options and columns, as a Python Data Source."""

    @classmethod
    def name(cls) -> str:
        return FORMAT

    def schema(self) -> str:
        headers = str(self.options.get("includeHeaders", "false")).lower() == "true"
        return _COLUMNS + (", headers array<struct<key: string, value: binary>>" if headers else "")

    def streamReader(self, schema: StructType) -> DataSourceStreamReader:
        return KafkaStreamReader(parse_source_options(self.options, streaming=True))

    def reader(self, schema: StructType) -> DataSourceReader:
        return KafkaBatchReader(parse_source_options(self.options, streaming=False))

    def streamWriter(self, schema: StructType, overwrite: bool) -> DataSourceStreamWriter:
        return KafkaStreamWriter(parse_sink_options(self.options, schema.fieldNames()))

    def writer(self, schema: StructType, overwrite: bool) -> DataSourceWriter:
        return KafkaBatchWriter(parse_sink_options(self.options, schema.fieldNames()))
