"""Executor side of the source: read one offset range into Arrow record batches.

Runs inside Spark's Python workers. Consumers are cached per worker process (workers are reused
between tasks), positioned with ``assign()`` at an explicit offset; no group protocol.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from caudal.broker.client import QUIET
from caudal.broker.offsets import refresh_metadata
from caudal.streaming.exceptions import DataLoss, FetchTimeout
from caudal.streaming.kafka.options import SourceOptions
from caudal.streaming.kafka.ranges import OffsetRange

CHUNK = 20_000
HEADER_TYPE = pa.list_(pa.struct([("key", pa.string()), ("value", pa.binary())]))
_CONSUMERS: dict[tuple[tuple[str, str], ...], Consumer] = {}


def arrow_schema(include_headers: bool) -> pa.Schema:
    fields = [
        ("key", pa.binary()),
        ("value", pa.binary()),
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("timestampType", pa.int32()),
    ]
    if include_headers:
        fields.append(("headers", HEADER_TYPE))
    return pa.schema(fields)


def _consumer(client: dict[str, Any]) -> Consumer:
    key = tuple(sorted((k, str(v)) for k, v in client.items()))
    if key not in _CONSUMERS:
        _CONSUMERS[key] = Consumer(
            {
                **QUIET,
                "group.id": "caudal-reader",
                **client,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": False,
                "auto.offset.reset": "error",
                "fetch.min.bytes": 1 << 20,
                "fetch.wait.max.ms": 50,
                "fetch.max.bytes": 64 << 20,
                "max.partition.fetch.bytes": 16 << 20,
                "queued.min.messages": 200_000,
                "check.crcs": False,
            }
        )
    return _CONSUMERS[key]


def to_record_batch(
    msgs: Sequence[Message], topic: str, partition: int, include_headers: bool
) -> pa.RecordBatch:
    """Column by column, the way Spark's Kafka source lays the record out."""
    n = len(msgs)
    stamps = np.array([m.timestamp() for m in msgs], dtype=np.int64).reshape(n, 2)
    columns = [
        pa.array([m.key() for m in msgs], pa.binary()),
        pa.array([m.value() for m in msgs], pa.binary()),
        pa.DictionaryArray.from_arrays(np.zeros(n, np.int8), [topic]).cast(pa.string()),
        pa.array(np.full(n, partition, np.int32)),
        pa.array([m.offset() for m in msgs], pa.int64()),
        pa.array(stamps[:, 1] * 1000, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        pa.array((stamps[:, 0] - 1).astype(np.int32)),  # librdkafka's type − 1 = Java's id
    ]
    if include_headers:
        columns.append(
            pa.array(
                [[{"key": k, "value": v} for k, v in (m.headers() or [])] for m in msgs],
                HEADER_TYPE,
            )
        )
    return pa.RecordBatch.from_arrays(columns, schema=arrow_schema(include_headers))


def read_range(r: OffsetRange, opts: SourceOptions) -> Iterator[pa.RecordBatch]:
    """Every record of ``[r.start, r.end)``; honours failOnDataLoss when records are gone."""
    consumer = _consumer(opts.client)
    refresh_metadata(consumer, [r.topic], opts.poll_timeout_ms / 1000)
    position, misses = r.start, 0
    consumer.assign([TopicPartition(r.topic, r.partition, position)])
    try:
        while position < r.end:
            msgs = consumer.consume(min(CHUNK, r.end - position), opts.poll_timeout_ms / 1000)
            if not msgs:
                misses += 1
                if misses > opts.num_retries:
                    raise FetchTimeout(
                        f"{r.topic}[{r.partition}]: no record at offset {position} (expected up "
                        f"to {r.end}) after {misses} polls of {opts.poll_timeout_ms} ms",
                        "check the broker; raise kafkaConsumer.pollTimeoutMs if it is slow",
                    )
                continue
            misses = 0
            if any(m.error() is not None for m in msgs):
                msgs, position = _drop_errors(consumer, msgs, r, position, opts)
            if msgs and msgs[-1].offset() >= r.end:
                msgs = [m for m in msgs if m.offset() < r.end]
            if msgs:
                position = msgs[-1].offset() + 1
                yield to_record_batch(msgs, r.topic, r.partition, opts.include_headers)
    finally:
        consumer.unassign()


def _drop_errors(
    consumer: Consumer, msgs: list[Message], r: OffsetRange, position: int, opts: SourceOptions
) -> tuple[list[Message], int]:
    """Records deleted from under the reader: fail, or skip to the earliest one left."""
    good = [m for m in msgs if m.error() is None]
    for m in msgs:
        err = m.error()
        if err is None or err.code() == KafkaError._PARTITION_EOF:
            continue
        if err.code() not in (KafkaError._AUTO_OFFSET_RESET, KafkaError.OFFSET_OUT_OF_RANGE):
            raise FetchTimeout(f"{r.topic}[{r.partition}]: fetch failed: {err.str()}")
        low, _ = consumer.get_watermark_offsets(TopicPartition(r.topic, r.partition), timeout=10)
        if opts.fail_on_data_loss:
            raise DataLoss(
                f"{r.topic}[{r.partition}]: offsets {position}..{low - 1} were deleted before "
                "they were read",
                "set failOnDataLoss=false to skip lost records, or start a new checkpoint",
            )
        position = max(low, position)
        consumer.assign([TopicPartition(r.topic, r.partition, position)])
    return good, position
