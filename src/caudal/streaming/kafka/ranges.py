"""Offset maps and per-partition ranges, planned on the driver like Spark's Kafka source.

An offset map is ``{topic: {partition: offset}}``; in checkpoints the partition keys are
strings (JSON), exactly as Spark's ``KafkaSourceOffset`` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

OffsetMap = dict[str, dict[int, int]]


@dataclass(frozen=True)
class OffsetRange:
    """Records ``[start, end)`` of one partition, read by one Spark task."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


def to_json(offsets: OffsetMap) -> dict[str, dict[str, int]]:
    return {
        t: {str(p): o for p, o in sorted(parts.items())} for t, parts in sorted(offsets.items())
    }


def from_json(data: dict[str, dict[str, int]]) -> OffsetMap:
    return {t: {int(p): int(o) for p, o in parts.items()} for t, parts in data.items()}


def flatten(offsets: OffsetMap) -> dict[tuple[str, int], int]:
    return {(t, p): o for t, parts in offsets.items() for p, o in parts.items()}


def nest(flat: dict[tuple[str, int], int]) -> OffsetMap:
    nested: OffsetMap = {}
    for (t, p), o in flat.items():
        nested.setdefault(t, {})[p] = o
    return nested


def rate_limit(start: OffsetMap, latest: OffsetMap, max_records: int) -> OffsetMap:
    """Cap a batch at ``max_records``, shared between partitions in proportion to their backlog."""
    begin, end = flatten(start), flatten(latest)
    backlog = {tp: max(end[tp] - begin.get(tp, end[tp]), 0) for tp in end}
    total = sum(backlog.values())
    if total <= max_records:
        return latest
    capped = {}
    for tp, off in end.items():
        share = int(backlog[tp] * max_records / total)
        capped[tp] = min(begin.get(tp, off) + max(share, 1 if backlog[tp] else 0), off)
    return nest(capped)


def plan_ranges(start: OffsetMap, end: OffsetMap, min_partitions: int | None) -> list[OffsetRange]:
    """Non-empty ranges, split so there are about ``min_partitions`` tasks when asked."""
    begin = flatten(start)
    ranges = [
        OffsetRange(t, p, begin.get((t, p), o), o)
        for (t, p), o in sorted(flatten(end).items())
        if o > begin.get((t, p), o)
    ]
    if not min_partitions or len(ranges) >= min_partitions:
        return ranges
    total = sum(r.size for r in ranges)
    split: list[OffsetRange] = []
    for r in ranges:
        parts = max(1, round(r.size * min_partitions / total))
        step = -(-r.size // parts)
        split.extend(
            OffsetRange(r.topic, r.partition, s, min(s + step, r.end))
            for s in range(r.start, r.end, step)
        )
    return split
