"""The caudal-kafka source in real Spark queries against the real embedded broker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.broker.offsets import EndOffsetProbe
from caudal.settings import Settings
from caudal.streaming.kafka import FORMAT

Record = tuple[int, int, bytes]  # partition, offset, value
SPARK_KAFKA_COLUMNS = [
    ("key", "binary"),
    ("value", "binary"),
    ("topic", "string"),
    ("partition", "int"),
    ("offset", "bigint"),
    ("timestamp", "timestamp"),
    ("timestampType", "int"),
]


def produce(
    bootstrap: str,
    topic: str,
    n: int,
    prefix: str = "v",
    partition: int | None = None,
    **produce_kwargs: Any,
) -> set[Record]:
    """Produce ``n`` keyed records with librdkafka's default batching; what was delivered."""
    delivered: set[Record] = set()

    def on_delivery(err: Any, msg: Any) -> None:
        assert err is None, err
        delivered.add((msg.partition(), msg.offset(), msg.value()))

    producer = Producer({"bootstrap.servers": bootstrap})
    where = {} if partition is None else {"partition": partition}
    for i in range(n):
        value = f"{prefix}-{i}".encode()
        producer.produce(topic, value, str(i).encode(), on_delivery=on_delivery, **where)
        producer.poll(0)
        produce_kwargs.get("between", lambda: None)()
    assert producer.flush(30) == 0
    assert len(delivered) == n
    return delivered


def source(bootstrap: str, topic: str, **options: str) -> dict[str, str]:
    return {"kafka.bootstrap.servers": bootstrap, "subscribe": topic, **options}


class Collector:
    """A foreachBatch function keeping each batch's (partition, offset, value) by batch id.

    A batch Spark replays after a stop has the same id and offsets, so it replaces itself.
    """

    def __init__(self) -> None:
        self.batches: dict[int, list[Record]] = {}
        self.lock = threading.Lock()

    def __call__(self, df: Any, batch_id: int) -> None:
        rows = [(r.partition, r.offset, bytes(r.value)) for r in df.collect()]
        with self.lock:
            self.batches[batch_id] = rows

    @property
    def records(self) -> list[Record]:
        with self.lock:
            return [r for rows in self.batches.values() for r in rows]


def start_query(
    spark: Any, options: dict[str, str], checkpoint: Path, sink: Collector, **trigger: Any
) -> Any:
    return (
        spark.readStream.format(FORMAT)
        .options(**options)
        .load()
        .writeStream.foreachBatch(sink)
        .option("checkpointLocation", str(checkpoint))
        .trigger(**(trigger or {"availableNow": True}))
        .start()
    )


def run_to_end(spark: Any, options: dict[str, str], checkpoint: Path) -> Collector:
    """An availableNow query: reads what is there when it starts, then stops."""
    sink = Collector()
    query = start_query(spark, options, checkpoint, sink)
    try:
        assert query.awaitTermination(180), "availableNow query did not finish"
    finally:
        query.stop()
    return sink


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def failure_of(spark: Any, options: dict[str, str], checkpoint: Path) -> str:
    """The error text of a query expected to fail, whether at start or while running."""
    try:
        query = start_query(spark, options, checkpoint, Collector())
        try:
            query.awaitTermination(120)
        finally:
            query.stop()
    except Exception as exc:
        return str(exc)
    raise AssertionError("the query did not fail")


def as_records(rows: Iterable[Any]) -> list[Record]:
    return [(r.partition, r.offset, bytes(r.value)) for r in rows]


def test_batch_read_returns_every_record_with_spark_kafka_columns(
    spark: Any, bootstrap: str, topic: str
) -> None:
    stamp_ms = 1_700_000_000_123
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(6):
        producer.produce(
            topic,
            f"value-{i}".encode(),
            None if i == 0 else f"key-{i}".encode(),
            partition=i % 2,
            timestamp=stamp_ms + i,
            headers=[("trace", f"t{i}".encode()), ("empty", b"")],
        )
    assert producer.flush(10) == 0

    plain = spark.read.format(FORMAT).options(**source(bootstrap, topic)).load()
    with_headers = (
        spark.read.format(FORMAT).options(**source(bootstrap, topic, includeHeaders="true")).load()
    )

    assert plain.dtypes == SPARK_KAFKA_COLUMNS
    assert with_headers.dtypes == [
        *SPARK_KAFKA_COLUMNS,
        ("headers", "array<struct<key:string,value:binary>>"),
    ]
    rows = with_headers.selectExpr("*", "unix_millis(timestamp) AS ms").collect()
    assert len(rows) == 6
    by_value = {bytes(r.value).decode(): r for r in rows}
    for i in range(6):
        r = by_value[f"value-{i}"]
        assert (None if r.key is None else bytes(r.key)) == (
            None if i == 0 else f"key-{i}".encode()
        )
        assert (r.topic, r.partition, r.offset) == (topic, i % 2, i // 2)
        assert (r.ms, r.timestampType) == (stamp_ms + i, 0)  # 0 = CreateTime
        assert [(h.key, bytes(h.value)) for h in r.headers] == [
            ("trace", f"t{i}".encode()),
            ("empty", b""),
        ]
    assert sorted(as_records(plain.collect())) == sorted(as_records(rows))


def test_starting_and_ending_offsets_select_exactly_the_asked_ranges(
    spark: Any, bootstrap: str, topic: str
) -> None:
    produce(bootstrap, topic, 10, "p0", partition=0)
    produce(bootstrap, topic, 10, "p1", partition=1)

    df = (
        spark.read.format(FORMAT)
        .options(
            **source(
                bootstrap,
                topic,
                startingOffsets=json.dumps({topic: {"0": 2, "1": 5}}),
                endingOffsets=json.dumps({topic: {"0": 6, "1": -1}}),
            )
        )
        .load()
    )

    got = sorted((r.partition, r.offset) for r in df.collect())
    assert got == [(0, o) for o in range(2, 6)] + [(1, o) for o in range(5, 10)]
    earliest_to_3 = (
        spark.read.format(FORMAT)
        .options(
            **source(
                bootstrap,
                topic,
                startingOffsets="earliest",
                endingOffsets=json.dumps({topic: {"0": 3, "1": -2}}),
            )
        )
        .load()
    )
    assert sorted((r.partition, r.offset) for r in earliest_to_3.collect()) == [
        (0, 0),
        (0, 1),
        (0, 2),
    ]


def test_stream_in_small_micro_batches_reads_every_record_exactly_once(
    spark: Any, settings: Settings, bootstrap: str, topic: str, tmp_path: Path
) -> None:
    produced = produce(bootstrap, topic, 5_000)
    probe = EndOffsetProbe(client_config(settings, bootstrap))
    try:
        reported = sum(probe.watermarks((topic, p))[1] for p in (0, 1))
    finally:
        probe.close()
    print(f"\nbroker reported {reported} of {len(produced)} records as the end")

    sink = run_to_end(
        spark,
        source(bootstrap, topic, startingOffsets="earliest", maxOffsetsPerTrigger="800"),
        tmp_path / "checkpoint",
    )

    assert len(sink.batches) >= 5000 // 800
    assert all(len(rows) <= 800 for rows in sink.batches.values())
    assert len(sink.records) == len(produced)
    assert set(sink.records) == produced


def test_latest_skips_what_was_there_before_the_query_started(
    spark: Any, bootstrap: str, topic: str, tmp_path: Path
) -> None:
    produce(bootstrap, topic, 20, "before")
    sink = Collector()
    query = start_query(
        spark,
        source(bootstrap, topic, startingOffsets="latest"),
        tmp_path / "checkpoint",
        sink,
        processingTime="200 milliseconds",
    )
    try:
        wait_for(lambda: "Waiting" in query.status["message"], 60, "the first trigger")
        time.sleep(1.5)  # several empty triggers before anything new arrives
        after = produce(bootstrap, topic, 10, "after")
        wait_for(lambda: len(sink.records) >= 10, 60, "the records produced after the start")
        time.sleep(1)
    finally:
        query.stop()

    assert sorted(sink.records) == sorted(after)


def test_min_partitions_splits_into_more_tasks_with_the_same_rows(
    spark: Any, bootstrap: str, topic: str
) -> None:
    produced = produce(bootstrap, topic, 120)

    one_per_partition = spark.read.format(FORMAT).options(**source(bootstrap, topic)).load()
    split = spark.read.format(FORMAT).options(**source(bootstrap, topic, minPartitions="6")).load()

    assert one_per_partition.rdd.getNumPartitions() == 2
    assert split.rdd.getNumPartitions() >= 6
    assert sorted(as_records(split.collect())) == sorted(produced)
    assert sorted(as_records(one_per_partition.collect())) == sorted(produced)


def test_missing_topic_fails_the_query_naming_the_topic(
    spark: Any, bootstrap: str, tmp_path: Path
) -> None:
    missing = "no-such-topic-e1f2"

    error = failure_of(spark, source(bootstrap, missing), tmp_path / "checkpoint")

    assert "TopicNotFound" in error
    assert missing in error


def test_invalid_starting_offsets_fails_at_start_naming_the_option(
    spark: Any, bootstrap: str, topic: str, tmp_path: Path
) -> None:
    began = time.monotonic()

    error = failure_of(
        spark, source(bootstrap, topic, startingOffsets="beginning"), tmp_path / "checkpoint"
    )

    assert "InvalidOption" in error
    assert "startingOffsets" in error
    assert time.monotonic() - began < 60


def test_fail_on_data_loss_after_the_topic_is_recreated_with_fewer_records(
    spark: Any, admin: TopicAdmin, bootstrap: str, topic: str, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "checkpoint"
    produce(bootstrap, topic, 20)
    first = run_to_end(spark, source(bootstrap, topic, startingOffsets="earliest"), checkpoint)
    assert len(first.records) == 20
    time.sleep(2)  # no fetch in flight when the topic goes (librdkafka crashes on one)
    admin.delete(topic)
    wait_for(lambda: topic not in admin.topics(), 30, "the topic to be deleted")
    admin.create(topic, partitions=2)
    produce(bootstrap, topic, 4, "recreated")

    error = failure_of(spark, source(bootstrap, topic, failOnDataLoss="true"), checkpoint)
    assert "DataLoss" in error
    assert topic in error

    tolerant = source(bootstrap, topic, failOnDataLoss="false")
    run_to_end(spark, tolerant, checkpoint)
    later = produce(bootstrap, topic, 6, "later")
    goes_on = run_to_end(spark, tolerant, checkpoint)
    assert sorted(goes_on.records) == sorted(later)


def test_restart_from_the_checkpoint_resumes_without_re_read_or_gap(
    spark: Any, bootstrap: str, topic: str, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "checkpoint"
    options = source(bootstrap, topic, startingOffsets="earliest", maxOffsetsPerTrigger="20")
    produced = produce(bootstrap, topic, 200)

    sink = Collector()
    query = start_query(spark, options, checkpoint, sink, processingTime="100 milliseconds")
    try:
        wait_for(lambda: len(sink.batches) >= 2, 120, "two micro-batches")
    finally:
        query.stop()
    stopped_after = dict(sink.batches)
    assert len(stopped_after) < 10, "the first run should stop before reading everything"

    resumed = run_to_end(spark, options, checkpoint)
    more = produce(bootstrap, topic, 30, "more")
    last = run_to_end(spark, options, checkpoint)

    batches = {**stopped_after, **resumed.batches}
    assert set(resumed.batches).isdisjoint(set(stopped_after) - {max(stopped_after)})
    assert min(resumed.batches) <= max(stopped_after) + 1
    read = [r for rows in batches.values() for r in rows]
    assert len(read) == len(produced) and set(read) == produced
    assert min(last.batches) == max(batches) + 1
    assert sorted(last.records) == sorted(more)
