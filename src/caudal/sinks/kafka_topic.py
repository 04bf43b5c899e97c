"""Exactly-once into Kafka topics without relying on transactions.

Why not transactions: the embedded broker (Tansu) accepts them but shows aborted records to
``read_committed`` consumers (measured), so a retried transactional batch would be seen twice.

How instead: every record carries ``caudal.query`` and ``caudal.batch`` headers. Before a batch
is written, the true end offsets of the output topics are recorded as the batch's intent. When
a batch is replayed after a crash (intent, no commit), the records written since those offsets
with this query's and batch's headers are read back, and only the rows not already there are
produced (a multiset difference on topic, key and value). The guarantee: each row of each
committed batch is in its topic exactly once, provided the query's transformation is
deterministic (Spark's own requirement for exactly-once sinks) and the output records are not
deleted between the crash and the replay.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from confluent_kafka import Consumer, TopicPartition

from caudal.broker.offsets import EndOffsetProbe
from caudal.sinks.base import BatchSink
from caudal.sinks.batch_log import BatchLog
from caudal.streaming.kafka import FORMAT
from caudal.streaming.kafka.options import client_options
from caudal.streaming.kafka.writer import (
    BATCH_HEADER,
    QUERY_HEADER,
    SinkOptions,
    produce_batches,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

RecordId = tuple[str, bytes | None, bytes | None]


class KafkaTopicSink(BatchSink):
    """Writes ``key``/``value`` (+``topic``/``headers``) rows to one or more declared topics."""

    def __init__(self, name: str, client: dict[str, Any], topics: Iterable[str]) -> None:
        super().__init__(name)
        self.client = client_options({f"kafka.{k}": v for k, v in client.items()})
        self.topics = sorted(set(topics))

    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> dict[str, Any]:
        query_id = hashlib.sha1(str(log.directory.resolve()).encode()).hexdigest()[:16]
        intent = log.intent(batch_id)
        if intent is None:
            log.record_intent(batch_id, {"ends": self._ends()})
            rows = self._write_distributed(df, batch_id, query_id)
            return {"rows": rows, "replayed": False}
        present = self._already_written(intent["ends"], query_id, batch_id)
        rows = self._write_missing(df, batch_id, query_id, present)
        return {"rows": rows, "replayed": True, "found": sum(present.values())}

    def _ends(self) -> list[list[Any]]:
        probe = EndOffsetProbe(self.client)
        try:
            consumer = probe._consumer
            meta = consumer.list_topics(timeout=10)
            parts = [
                (t, p) for t in self.topics if t in meta.topics for p in meta.topics[t].partitions
            ]
            return [[t, p, o] for (t, p), o in probe.end_offsets(parts).items()]
        finally:
            probe.close()

    def _options(self, batch_id: int, query_id: str) -> dict[str, str]:
        opts = {f"kafka.{k}": str(v) for k, v in self.client.items()}
        opts.update(
            {
                "caudal.stampHeaders": "true",
                "caudal.queryId": query_id,
                "caudal.batchId": str(batch_id),
            }
        )
        if len(self.topics) == 1:
            opts["topic"] = self.topics[0]
        return opts

    def _write_distributed(self, df: DataFrame, batch_id: int, query_id: str) -> int:
        df = df.cache()
        try:
            rows = df.count()
            df.write.format(FORMAT).options(**self._options(batch_id, query_id)).mode(
                "append"
            ).save()
        finally:
            df.unpersist()
        return rows

    def _write_missing(
        self, df: DataFrame, batch_id: int, query_id: str, present: Counter[RecordId]
    ) -> int:
        table = pa.Table.from_pandas(df.toPandas(), preserve_index=False)
        cols = table.to_pydict()
        topics = cols.get("topic") or [self.topics[0]] * table.num_rows
        keep = []
        for i in range(table.num_rows):
            rid = (topics[i], _b(cols.get("key", [None] * table.num_rows)[i]), _b(cols["value"][i]))
            if present[rid] > 0:
                present[rid] -= 1
            else:
                keep.append(i)
        missing = table.take(keep)
        opts = SinkOptions(
            self.client, None if "topic" in cols else self.topics[0], True, query_id, str(batch_id)
        )
        produce_batches(iter(missing.to_batches()), opts)
        return len(keep)

    def _already_written(
        self, ends: list[list[Any]], query_id: str, batch_id: int
    ) -> Counter[RecordId]:
        """Records of this query's batch written since the intent's offsets."""
        probe = EndOffsetProbe(self.client)
        try:
            now = probe.end_offsets([(t, p) for t, p, _ in ends])
        finally:
            probe.close()
        consumer = Consumer(
            {
                **self.client,
                "group.id": "caudal-sink-replay",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        wanted = {(QUERY_HEADER, query_id.encode()), (BATCH_HEADER, str(batch_id).encode())}
        found: Counter[RecordId] = Counter()
        try:
            for t, p, start in ends:
                found.update(_scan(consumer, t, p, start, now[(t, p)], wanted))
        finally:
            consumer.close()
        return found


def _scan(
    consumer: Consumer,
    topic: str,
    partition: int,
    start: int,
    end: int,
    wanted: set[tuple[str, bytes]],
) -> Counter[RecordId]:
    found: Counter[RecordId] = Counter()
    if end <= start:
        return found
    consumer.assign([TopicPartition(topic, partition, start)])
    position, deadline = start, time.monotonic() + 60
    while position < end and time.monotonic() < deadline:
        for m in consumer.consume(10_000, 1.0):
            if m.error() is not None:
                continue
            position = m.offset() + 1
            if m.offset() < end and wanted <= set(m.headers() or []):
                found[(topic, m.key(), m.value())] += 1
    if position < end:
        raise TimeoutError(f"could not re-read {topic}[{partition}] up to offset {end}")
    return found


def _b(value: Any) -> bytes | None:
    return value.encode() if isinstance(value, str) else value
