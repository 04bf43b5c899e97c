"""Writing to Kafka and to files from Spark, exactly once per micro-batch, on the real broker."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.broker.offsets import EndOffsetProbe
from caudal.settings import Settings
from caudal.sinks.batch_log import BatchLog
from caudal.sinks.files import AppendFileSink, ParquetSink
from caudal.sinks.kafka_topic import KafkaTopicSink
from caudal.streaming.kafka import FORMAT
from caudal.streaming.kafka.writer import BATCH_HEADER, QUERY_HEADER

Row = tuple[bytes | None, bytes]  # key, value
ROWS: list[Row] = [
    (b"k1", b"alpha"),
    (b"k2", b"beta"),
    (b"k2", b"beta"),  # a true duplicate row: it must be there twice, not once
    (None, b"gamma"),
    (b"k3", b"delta"),
    (b"k4", b"epsilon"),
]


def read_topic(
    settings: Settings, bootstrap: str, topic: str
) -> list[tuple[bytes | None, bytes, dict[str, bytes]]]:
    """Every record of ``topic``: key, value and headers."""
    probe = EndOffsetProbe(client_config(settings, bootstrap))
    try:
        meta = probe._consumer.list_topics(topic, timeout=10).topics[topic]
        ends = probe.end_offsets([(topic, p) for p in meta.partitions])
    finally:
        probe.close()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "sink-tests"})
    records = []
    try:
        for (t, p), end in ends.items():
            if end == 0:
                continue
            consumer.assign([TopicPartition(t, p, 0)])
            seen = 0
            while seen < end:
                msgs = consumer.consume(end - seen, 10)
                assert msgs, f"{t}[{p}]: nothing fetched at {seen} of {end}"
                for m in msgs:
                    assert m.error() is None, m.error()
                    records.append((m.key(), m.value(), dict(m.headers() or [])))
                    seen = m.offset() + 1
            consumer.unassign()
    finally:
        consumer.close()
    return records


def rows_df(spark: Any, rows: list[Row]) -> Any:
    return spark.createDataFrame(rows, "key binary, value binary")


def streaming_copy(
    spark: Any, bootstrap: str, source: str, select: list[str], checkpoint: Path, **sink: str
) -> None:
    """A streaming query from ``source`` into the caudal-kafka sink, run until caught up."""
    query = (
        spark.readStream.format(FORMAT)
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", source)
        .option("startingOffsets", "earliest")
        .option("includeHeaders", "true")
        .load()
        .selectExpr(*select)
        .writeStream.format(FORMAT)
        .option("kafka.bootstrap.servers", bootstrap)
        .options(**sink)
        .option("checkpointLocation", str(checkpoint))
        .trigger(availableNow=True)
        .start()
    )
    try:
        assert query.awaitTermination(180), "the streaming write did not finish"
    finally:
        query.stop()


def produce_input(bootstrap: str, topic: str, n: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(n):
        producer.produce(
            topic,
            f"in-{i}".encode(),
            f"k{i}".encode(),
            partition=i % 2,
            headers=[("source", f"s{i}".encode())],
        )
    assert producer.flush(10) == 0


def test_streaming_write_to_the_topic_option_carries_key_value_and_headers(
    spark: Any, settings: Settings, admin: TopicAdmin, bootstrap: str, topic: str, tmp_path: Path
) -> None:
    out = f"out-{uuid.uuid4().hex[:8]}"
    admin.create(out, partitions=2)
    produce_input(bootstrap, topic, 30)

    streaming_copy(
        spark,
        bootstrap,
        topic,
        ["key", "concat(value, cast('!' AS binary)) AS value", "headers"],
        tmp_path / "checkpoint",
        topic=out,
    )

    written = read_topic(settings, bootstrap, out)
    assert sorted(written) == sorted(
        (f"k{i}".encode(), f"in-{i}!".encode(), {"source": f"s{i}".encode()}) for i in range(30)
    )


def test_streaming_write_routes_each_row_by_its_topic_column(
    spark: Any, settings: Settings, admin: TopicAdmin, bootstrap: str, topic: str, tmp_path: Path
) -> None:
    even, odd = f"even-{uuid.uuid4().hex[:8]}", f"odd-{uuid.uuid4().hex[:8]}"
    admin.create(even, partitions=1)
    admin.create(odd, partitions=1)
    produce_input(bootstrap, topic, 20)

    streaming_copy(
        spark,
        bootstrap,
        topic,
        ["key", "value", f"CASE WHEN partition = 0 THEN '{even}' ELSE '{odd}' END AS topic"],
        tmp_path / "checkpoint",
    )

    assert sorted(v for _, v, _ in read_topic(settings, bootstrap, even)) == sorted(
        f"in-{i}".encode() for i in range(0, 20, 2)
    )
    assert sorted(v for _, v, _ in read_topic(settings, bootstrap, odd)) == sorted(
        f"in-{i}".encode() for i in range(1, 20, 2)
    )


def test_sink_needs_a_value_column_and_a_topic(spark: Any, bootstrap: str, topic: str) -> None:
    base = {"kafka.bootstrap.servers": bootstrap}
    with pytest.raises(Exception, match="'value' column"):
        spark.createDataFrame([(b"k",)], "key binary").write.format(FORMAT).options(
            **base, topic=topic
        ).mode("append").save()
    with pytest.raises(Exception, match="no topic"):
        rows_df(spark, ROWS).write.format(FORMAT).options(**base).mode("append").save()


def topic_sink(bootstrap: str, topic: str) -> KafkaTopicSink:
    return KafkaTopicSink("out", {"bootstrap.servers": bootstrap}, [topic])


def of_batch(
    records: list[tuple[bytes | None, bytes, dict[str, bytes]]], batch_id: int
) -> Counter[Row]:
    return Counter((k, v) for k, v, h in records if h.get(BATCH_HEADER) == str(batch_id).encode())


def test_topic_sink_called_twice_for_one_batch_writes_it_once(
    spark: Any, settings: Settings, bootstrap: str, topic: str, tmp_path: Path
) -> None:
    sink = topic_sink(bootstrap, topic)
    write = sink.bind(tmp_path / "checkpoint")
    batch = rows_df(spark, ROWS)

    write(batch, 0)
    write(batch, 0)
    write(rows_df(spark, ROWS[:2]), 1)

    records = read_topic(settings, bootstrap, topic)
    assert of_batch(records, 0) == Counter(ROWS)
    assert of_batch(records, 1) == Counter(ROWS[:2])
    assert len(records) == len(ROWS) + 2
    assert sink.batches_skipped == 1


def test_topic_sink_replay_after_a_crash_mid_batch_completes_it_exactly_once(
    spark: Any, settings: Settings, bootstrap: str, topic: str, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "checkpoint"
    sink = topic_sink(bootstrap, topic)
    write = sink.bind(checkpoint)
    write(rows_df(spark, ROWS[:2]), 4)  # an earlier, committed batch with the same rows

    # The crashed attempt of batch 5: the intent was recorded, then part of the rows went out.
    log = BatchLog(checkpoint / "sinks" / sink.name)
    query_id = hashlib.sha1(str(log.directory.resolve()).encode()).hexdigest()[:16]
    probe = EndOffsetProbe(client_config(settings, bootstrap))
    try:
        ends = probe.end_offsets([(topic, 0), (topic, 1)])
    finally:
        probe.close()
    log.record_intent(5, {"ends": [[t, p, o] for (t, p), o in ends.items()]})
    producer = Producer({"bootstrap.servers": bootstrap})
    for key, value in [ROWS[0], ROWS[1], ROWS[3]]:
        stamp = [(QUERY_HEADER, query_id.encode()), (BATCH_HEADER, b"5")]
        producer.produce(topic, value, key, headers=stamp)
    # records that look alike but belong to another batch or another query
    producer.produce(topic, ROWS[2][1], ROWS[2][0], headers=[(BATCH_HEADER, b"5")])
    producer.produce(
        topic, ROWS[4][1], ROWS[4][0], headers=[(QUERY_HEADER, b"other"), (BATCH_HEADER, b"5")]
    )
    earlier = [(QUERY_HEADER, query_id.encode()), (BATCH_HEADER, b"4")]
    producer.produce(topic, ROWS[5][1], ROWS[5][0], headers=earlier)
    assert producer.flush(10) == 0

    write(rows_df(spark, ROWS), 5)

    mine = [
        (k, v)
        for k, v, h in read_topic(settings, bootstrap, topic)
        if h.get(QUERY_HEADER) == query_id.encode() and h.get(BATCH_HEADER) == b"5"
    ]
    assert Counter(mine) == Counter(ROWS)
    assert sink.rows_written == 2 + len(ROWS) - 3
    assert log.committed(5)
    write(rows_df(spark, ROWS), 5)
    assert sink.batches_skipped == 1


def frame(rows: list[tuple[int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "name"])


def test_append_file_sink_replay_after_a_partial_append_leaves_each_row_once(
    spark: Any, tmp_path: Path
) -> None:
    path = tmp_path / "out" / "results.csv"
    checkpoint = tmp_path / "checkpoint"
    sink = AppendFileSink(path)
    write = sink.bind(checkpoint)
    first = [(1, "one"), (2, "two")]
    second = [(3, "three"), (4, "four, with a comma")]
    write(spark.createDataFrame(first, "id int, name string"), 0)

    # batch 1 crashed half-way through its append, after recording its intent
    log = BatchLog(checkpoint / "sinks" / sink.name)
    log.record_intent(1, {"start": path.stat().st_size})
    with path.open("ab") as fh:
        fh.write(b'3,three\n4,"four, wi')

    write(spark.createDataFrame(second, "id int, name string"), 1)
    write(spark.createDataFrame(second, "id int, name string"), 1)

    assert pd.read_csv(path).to_dict("records") == frame(first + second).to_dict("records")
    assert sink.batches_skipped == 1


def test_parquet_sink_is_idempotent_per_batch(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    checkpoint = tmp_path / "checkpoint"
    sink = ParquetSink(path)
    write = sink.bind(checkpoint)
    first = [(1, "one"), (2, "two")]
    second = [(3, "three")]
    write(spark.createDataFrame(first, "id int, name string"), 0)
    write(spark.createDataFrame(first, "id int, name string"), 0)

    # batch 1 crashed after its file was in place but before the commit marker
    (path / "part-00000001.parquet").write_bytes(b"PAR1 truncated garbage")
    (path / ".part-00000001.parquet.tmp").write_bytes(b"PAR1 half")
    write(spark.createDataFrame(second, "id int, name string"), 1)

    table = pq.read_table(path).to_pandas().sort_values("id", ignore_index=True)
    assert table.to_dict("records") == frame(first + second).to_dict("records")
    assert sink.batches_skipped == 1
    assert sorted(p.name for p in path.glob("part-*")) == [
        "part-00000000.parquet",
        "part-00000001.parquet",
    ]
