"""Driver side of the source: initial/latest offsets, micro-batch planning, lag commits.

The guarantee: a micro-batch is the offset ranges between two offset maps that Spark writes to
its checkpoint before the batch runs, so a restarted query re-reads exactly the ranges it had
not committed. Ends are the *true* ends (``EndOffsetProbe``), never the broker's ListOffsets.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
from confluent_kafka import Consumer, TopicPartition
from pyspark.sql.datasource import (
    DataSourceReader,
    DataSourceStreamReader,
    InputPartition,
)
from pyspark.sql.streaming.datasource import (
    ReadAllAvailable,
    ReadLimit,
    ReadMaxRows,
    SupportsTriggerAvailableNow,
)

from caudal.broker.exceptions import TopicNotFound
from caudal.broker.offsets import EndOffsetProbe
from caudal.streaming.exceptions import DataLoss
from caudal.streaming.kafka.fetch import read_range
from caudal.streaming.kafka.options import EARLIEST, LATEST, OffsetSpec, SourceOptions
from caudal.streaming.kafka.ranges import (
    OffsetMap,
    OffsetRange,
    flatten,
    from_json,
    nest,
    plan_ranges,
    rate_limit,
    to_json,
)

log = logging.getLogger(__name__)


class RangePartition(InputPartition):
    def __init__(self, r: OffsetRange) -> None:
        super().__init__(r)
        self.range = r


class _OffsetPlanner:
    """Shared by the streaming and batch readers: topic discovery and offset resolution."""

    def __init__(self, opts: SourceOptions) -> None:
        self.opts = opts
        self._probe: EndOffsetProbe | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_probe": None}

    @property
    def probe(self) -> EndOffsetProbe:
        if self._probe is None:
            self._probe = EndOffsetProbe(self.opts.client, timeout_s=30)
        return self._probe

    def topic_partitions(self) -> list[tuple[str, int]]:
        if self.opts.assign:
            return [(t, p) for t, ps in self.opts.assign.items() for p in ps]
        meta = self.probe._consumer.list_topics(timeout=30)
        if self.opts.subscribe_pattern:
            pattern = re.compile(self.opts.subscribe_pattern)
            names = [t for t in meta.topics if pattern.fullmatch(t) and not t.startswith("__")]
        else:
            missing = [t for t in self.opts.subscribe if t not in meta.topics]
            if missing:
                raise TopicNotFound(
                    f"topic(s) {', '.join(missing)} do not exist on "
                    f"{self.opts.client['bootstrap.servers']}",
                    "create them first (`caudal topics create NAME`) or fix the subscribe option",
                )
            names = list(self.opts.subscribe)
        return [(t, p) for t in sorted(names) for p in sorted(meta.topics[t].partitions)]

    def resolve(self, spec: OffsetSpec, partitions: Sequence[tuple[str, int]]) -> OffsetMap:
        """Turn earliest/latest/-2/-1 into concrete offsets for ``partitions``."""
        wanted = {tp: spec.for_partition(*tp) for tp in partitions}
        latest_needed = [tp for tp, o in wanted.items() if o == LATEST]
        ends = self.probe.end_offsets(latest_needed) if latest_needed else {}
        resolved = {}
        for tp, o in wanted.items():
            if o == EARLIEST:
                resolved[tp] = self.probe.watermarks(tp)[0]
            elif o == LATEST:
                resolved[tp] = ends[tp]
            else:
                resolved[tp] = o
        return nest(resolved)

    def latest(self) -> OffsetMap:
        """True ends of every partition, including partitions added since the query started."""
        return nest(self.probe.end_offsets(self.topic_partitions()))

    def check_loss(self, start: OffsetMap, end: OffsetMap) -> None:
        lost = {
            tp: (s, flatten(end).get(tp))
            for tp, s in flatten(start).items()
            if flatten(end).get(tp, s) < s
        }
        if not lost:
            return
        detail = ", ".join(f"{t}[{p}] {s}->{e}" for (t, p), (s, e) in lost.items())
        if self.opts.fail_on_data_loss:
            raise DataLoss(
                f"partition offsets went backwards ({detail}): the topic was deleted or "
                "re-created and records may have been missed",
                "set failOnDataLoss=false to go on from the new offsets",
            )
        log.warning("offsets went backwards (%s); going on (failOnDataLoss=false)", detail)

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
            self._probe = None


def _with_new_partitions(start: OffsetMap, end: OffsetMap) -> OffsetMap:
    """Partitions created after the query started are read from their beginning (offset 0)."""
    merged = {t: dict(parts) for t, parts in start.items()}
    for t, p in flatten(end):
        merged.setdefault(t, {}).setdefault(p, 0)
    return merged


class KafkaStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    """Micro-batch reader; ``maxOffsetsPerTrigger`` caps each batch via admission control.

    Under ``Trigger.AvailableNow`` the ends at the query's start are the target, read in
    batches of at most ``maxOffsetsPerTrigger`` (as Spark's Kafka source does), not in one.
    """

    def __init__(self, opts: SourceOptions) -> None:
        self.opts = opts
        self.planner = _OffsetPlanner(opts)
        self._latest: OffsetMap = {}
        self._target: OffsetMap | None = None
        self._committer: Consumer | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_committer": None}

    def initialOffset(self) -> dict:
        partitions = self.planner.topic_partitions()
        return to_json(self.planner.resolve(self.opts.starting, partitions))

    def getDefaultReadLimit(self) -> ReadLimit:
        if self.opts.max_offsets_per_trigger:
            return ReadMaxRows(self.opts.max_offsets_per_trigger)
        return ReadAllAvailable()

    def prepareForTriggerAvailableNow(self) -> None:
        self._target = self.planner.latest()

    def latestOffset(self, start: dict, limit: ReadLimit) -> dict:
        begin = from_json(start)
        latest = self.planner.latest() if self._target is None else self._target
        self.planner.check_loss(begin, latest)
        self._latest = latest
        if isinstance(limit, ReadMaxRows):
            latest = rate_limit(_with_new_partitions(begin, latest), latest, limit.max_rows)
        return to_json(latest)

    def reportLatestOffset(self) -> dict | None:
        return to_json(self._latest) if self._latest else None

    def partitions(self, start: dict, end: dict) -> Sequence[InputPartition]:
        stop = from_json(end)
        begin = _with_new_partitions(from_json(start), stop)
        ranges = plan_ranges(begin, stop, self.opts.min_partitions)
        return [RangePartition(r) for r in ranges]

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        assert isinstance(partition, RangePartition)
        return read_range(partition.range, self.opts)

    def commit(self, end: dict) -> None:
        """Record progress in a consumer group so ``caudal status`` can show lag (best effort)."""
        if not self.opts.commit_group:
            return
        if self._committer is None:
            self._committer = Consumer(
                {
                    **self.opts.client,
                    "group.id": self.opts.commit_group,
                    "enable.auto.commit": False,
                }
            )
        offsets = [TopicPartition(t, p, o) for (t, p), o in flatten(from_json(end)).items()]
        try:
            self._committer.commit(offsets=offsets, asynchronous=False)
        except Exception as exc:
            log.warning("could not commit offsets to group %s: %s", self.opts.commit_group, exc)

    def stop(self) -> None:
        self.planner.close()
        if self._committer is not None:
            self._committer.close()


class KafkaBatchReader(DataSourceReader):
    """``spark.read``: one fixed set of ranges between startingOffsets and endingOffsets."""

    def __init__(self, opts: SourceOptions) -> None:
        self.opts = opts

    def partitions(self) -> Sequence[InputPartition]:
        planner = _OffsetPlanner(self.opts)
        try:
            tps = planner.topic_partitions()
            start = planner.resolve(self.opts.starting, tps)
            end = planner.resolve(self.opts.ending, tps)
        finally:
            planner.close()
        return [RangePartition(r) for r in plan_ranges(start, end, self.opts.min_partitions)]

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        assert isinstance(partition, RangePartition)
        return read_range(partition.range, self.opts)
