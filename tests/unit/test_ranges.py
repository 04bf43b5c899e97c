"""Micro-batch planning on the driver: rate limiting, range splitting, checkpoint offsets."""

from __future__ import annotations

import json
import random

import pytest

from caudal.streaming.kafka.ranges import (
    OffsetRange,
    flatten,
    from_json,
    plan_ranges,
    rate_limit,
    to_json,
)


def test_rate_limit_shares_the_cap_in_proportion_to_each_partitions_backlog() -> None:
    start = {"t": {0: 100, 1: 0}}
    latest = {"t": {0: 400, 1: 100}}  # backlogs 300 and 100

    capped = rate_limit(start, latest, max_records=200)

    assert capped == {"t": {0: 250, 1: 50}}


def test_rate_limit_returns_latest_when_the_backlog_fits() -> None:
    latest = {"t": {0: 30, 1: 20}}

    assert rate_limit({"t": {0: 10, 1: 10}}, latest, max_records=30) == latest


def test_rate_limit_never_exceeds_the_cap_nor_passes_latest_nor_goes_back() -> None:
    rng = random.Random(7)
    for _ in range(500):
        n = rng.randint(1, 6)
        max_records = rng.randint(n, 10_000)
        start = {"a": {p: rng.randint(0, 1_000) for p in range(n)}}
        # every backlog at least its fair share of one record, so no partition needs rounding up
        latest = {
            "a": {p: o + rng.randint(1_000, 100_000) for p, o in start["a"].items()},
        }

        capped = flatten(rate_limit(start, latest, max_records))

        taken = sum(capped[tp] - o for tp, o in flatten(start).items())
        assert taken <= max_records
        for tp, o in flatten(start).items():
            assert o <= capped[tp] <= flatten(latest)[tp]


def test_rate_limit_does_not_starve_a_partition_with_a_tiny_backlog() -> None:
    capped = rate_limit({"t": {0: 0, 1: 0}}, {"t": {0: 1_000_000, 1: 1}}, max_records=10)

    assert capped["t"][1] == 1
    assert capped["t"][0] < 1_000_000


def test_rate_limit_leaves_an_idle_partition_where_it_is() -> None:
    capped = rate_limit({"t": {0: 0, 1: 5}}, {"t": {0: 100, 1: 5}}, max_records=10)

    assert capped == {"t": {0: 10, 1: 5}}


def _covered(ranges: list[OffsetRange]) -> dict[tuple[str, int], list[tuple[int, int]]]:
    spans: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for r in ranges:
        spans.setdefault((r.topic, r.partition), []).append((r.start, r.end))
    return {tp: sorted(s) for tp, s in spans.items()}


def test_plan_ranges_without_min_partitions_is_one_range_per_partition_with_data() -> None:
    ranges = plan_ranges({"t": {0: 5, 1: 7, 2: 9}}, {"t": {0: 15, 1: 7, 2: 10}}, None)

    assert ranges == [OffsetRange("t", 0, 5, 15), OffsetRange("t", 2, 9, 10)]


def test_plan_ranges_splits_into_min_partitions_contiguous_ranges_covering_exactly() -> None:
    start, end = {"t": {0: 0, 1: 1_000}}, {"t": {0: 50, 1: 1_050}}

    ranges = plan_ranges(start, end, min_partitions=6)

    assert len(ranges) == 6
    for (topic, partition), spans in _covered(ranges).items():
        assert spans[0][0] == start[topic][partition]
        assert spans[-1][1] == end[topic][partition]
        for (_, prev_end), (next_start, _) in zip(spans, spans[1:], strict=False):
            assert prev_end == next_start  # contiguous, no gap, no overlap
        assert all(s < e for s, e in spans)


@pytest.mark.parametrize("min_partitions", [3, 4, 7, 10, 31, 100])
def test_plan_ranges_split_reads_every_offset_once(min_partitions: int) -> None:
    start, end = {"a": {0: 3, 1: 0}, "b": {0: 10}}, {"a": {0: 40, 1: 11}, "b": {0: 27}}

    ranges = plan_ranges(start, end, min_partitions)

    offsets = [(r.topic, r.partition, o) for r in ranges for o in range(r.start, r.end)]
    expected = [
        (t, p, o)
        for t, parts in end.items()
        for p, e in parts.items()
        for o in range(start[t][p], e)
    ]
    assert sorted(offsets) == sorted(expected)
    assert len(set(offsets)) == len(offsets)
    assert len(ranges) > 3 if min_partitions > 3 else len(ranges) == 3


def test_offsets_round_trip_through_checkpoint_json() -> None:
    offsets = {"orders": {0: 17, 1: 0, 10: 123_456_789_012}, "audit": {3: 5}}

    text = json.dumps(to_json(offsets))

    assert json.loads(text) == {"audit": {"3": 5}, "orders": {"0": 17, "1": 0, "10": 123456789012}}
    assert from_json(json.loads(text)) == offsets
