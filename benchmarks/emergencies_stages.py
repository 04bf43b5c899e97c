"""Where the emergencies validator's time goes: its parses and checks timed one by one.

    .venv/bin/python benchmarks/emergencies_stages.py [--calls 200000] [--repeat 3]

The streaming benchmark (`emergencies.py`) times the whole route: Kafka in, validation,
routing, the nearest hospital, Kafka out. Here the feed's calls (1 % broken, as the feeder
breaks them) are put in a cached DataFrame of Kafka-like rows and each stage of
``calls.validated`` runs as a batch job to a ``noop`` sink, best of ``--repeat``:

1. read the cached rows (the floor: scheduling and scan);
2. + ``from_json`` into the call schema alone (one parse, no checks);
3. + ``from_json`` as a map of field name → variant too (the two parses, no checks);
4. ``validated`` (the pipeline's validation: parses, checks, the validated columns).
"""

from __future__ import annotations

import threading

from harness import cached_records, noop, stage_options, stage_session, time_stages

from caudal.pipelines.emergencies.calls import CALL_SCHEMA, JSON_OPTIONS, validated
from caudal.pipelines.emergencies.feed import CallFeed
from caudal.pipelines.feeder import FeedCounters


def call_values(n: int) -> list[tuple[bytes, int, int]]:
    """``n`` calls as the feeder writes them (``value, partition, offset``)."""
    feed = CallFeed("calls", n, 0, seed=1)
    records = feed.records(threading.Event(), FeedCounters())
    return [(r.value, k % 2, k // 2) for k, r in enumerate(records)]


def main() -> None:
    args = stage_options(__doc__, "calls", 200_000)
    from pyspark.sql import functions as F

    spark = stage_session("bench-emergencies-stages")
    raw = cached_records(spark, call_values(args.calls))
    text = F.col("value").cast("string")
    call = F.from_json(text, CALL_SCHEMA, JSON_OPTIONS).alias("call")
    fields = F.from_json(text, "map<string,variant>", JSON_OPTIONS).alias("fields")
    stages = [
        ("read the cached rows", noop(raw)),
        ("+ from_json, call schema", noop(raw.select("*", call))),
        ("+ from_json, call schema and map of variants", noop(raw.select("*", call, fields))),
        ("calls.validated (the pipeline)", noop(validated(raw))),
    ]
    time_stages("Emergencies validation stages", stages, args.calls, "call", args.repeat)
    spark.stop()


if __name__ == "__main__":
    main()
