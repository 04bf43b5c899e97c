"""The sink side: produce a DataFrame's ``key``/``value`` (+ ``topic``/``headers``/``partition``).

Each task produces with an idempotent producer and flushes before it reports success; a task
fails if any delivery failed, so Spark retries the batch instead of committing a partial one.
With ``caudal.stampHeaders=true`` every record carries ``caudal.query`` and ``caudal.batch``
headers, which is what ``caudal.sinks.kafka_topic`` uses to make re-delivery exactly-once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from confluent_kafka import KafkaException, Producer
from pyspark.sql.datasource import (
    DataSourceArrowWriter,
    DataSourceStreamArrowWriter,
    WriterCommitMessage,
)

from caudal.broker.client import QUIET
from caudal.streaming.exceptions import InvalidOption
from caudal.streaming.kafka.options import client_options

BATCH_HEADER, QUERY_HEADER = "caudal.batch", "caudal.query"
_PRODUCERS: dict[tuple[tuple[str, str], ...], Producer] = {}


@dataclass
class Produced(WriterCommitMessage):
    records: int


@dataclass(frozen=True)
class SinkOptions:
    client: dict[str, Any]
    topic: str | None
    stamp_headers: bool
    query_id: str
    batch_id: str | None
    flush_timeout_s: float = 60.0


def parse_sink_options(options: Mapping[str, str], columns: list[str]) -> SinkOptions:
    lowered = {k.lower(): str(v) for k, v in options.items()}
    if "value" not in columns:
        raise InvalidOption("the DataFrame written to Kafka needs a 'value' column")
    if "topic" not in columns and not lowered.get("topic"):
        raise InvalidOption(
            "no topic: set the 'topic' option or add a 'topic' column",
            ".option('topic', 'name')",
        )
    return SinkOptions(
        client=client_options(lowered),
        topic=lowered.get("topic"),
        stamp_headers=lowered.get("caudal.stampheaders", "false") == "true",
        query_id=lowered.get("caudal.queryid", ""),
        batch_id=lowered.get("caudal.batchid"),
    )


def _producer(client: dict[str, Any]) -> Producer:
    key = tuple(sorted((k, str(v)) for k, v in client.items()))
    if key not in _PRODUCERS:
        _PRODUCERS[key] = Producer(
            {
                **QUIET,
                "linger.ms": 5,
                "batch.num.messages": 10_000,
                "queue.buffering.max.messages": 500_000,
                **client,
                "enable.idempotence": True,
                "acks": "all",
            }
        )
    return _PRODUCERS[key]


def _bytes(value: Any) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def _current_batch_id(opts: SinkOptions) -> str:
    if opts.batch_id is not None:
        return opts.batch_id
    from pyspark import TaskContext

    ctx = TaskContext.get()
    batch = ctx.getLocalProperty("streaming.sql.batchId") if ctx else None
    return batch or "-1"


def produce_batches(batches: Iterator[pa.RecordBatch], opts: SinkOptions) -> Produced:
    """Produce every row; raises if any delivery failed after the producer's own retries."""
    producer = _producer(opts.client)
    failures: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    stamp = (
        [(QUERY_HEADER, opts.query_id.encode()), (BATCH_HEADER, _current_batch_id(opts).encode())]
        if opts.stamp_headers
        else []
    )
    count = 0
    for batch in batches:
        cols = batch.to_pydict()
        n = batch.num_rows
        values = cols["value"]
        keys = cols.get("key", [None] * n)
        topics = [opts.topic] * n if opts.topic else cols["topic"]
        headers = cols.get("headers", [None] * n)
        parts = cols.get("partition", [None] * n)
        for i in range(n):
            hdrs = [(h["key"], h["value"]) for h in headers[i] or []] + stamp
            kwargs = {} if parts[i] is None else {"partition": parts[i]}
            _produce(
                producer, topics[i], _bytes(values[i]), _bytes(keys[i]), hdrs, on_delivery, kwargs
            )
        count += n
    remaining = producer.flush(opts.flush_timeout_s)
    if failures or remaining:
        raise KafkaException(
            f"{len(failures)} deliveries failed, {remaining} undelivered: {failures[:3]}"
        )
    return Produced(count)


def _produce(
    producer: Producer,
    topic: str,
    value: bytes | None,
    key: bytes | None,
    headers: list[tuple[str, bytes]],
    callback: Any,
    kwargs: dict[str, Any],
) -> None:
    while True:
        try:
            producer.produce(
                topic, value, key, headers=headers or None, on_delivery=callback, **kwargs
            )
            return
        except BufferError:
            producer.poll(0.05)


class KafkaStreamWriter(DataSourceStreamArrowWriter):
    def __init__(self, opts: SinkOptions) -> None:
        self.opts = opts

    def write(self, iterator: Iterator[pa.RecordBatch]) -> Produced:
        return produce_batches(iterator, self.opts)

    def commit(self, messages: list[WriterCommitMessage | None], batchId: int) -> None:
        """Nothing to do: records are durable once every task flushed."""


class KafkaBatchWriter(DataSourceArrowWriter):
    def __init__(self, opts: SinkOptions) -> None:
        self.opts = opts

    def write(self, iterator: Iterator[pa.RecordBatch]) -> Produced:
        return produce_batches(iterator, self.opts)
