"""Where the emergencies query's time goes: validation's parses and checks, then routing and
the sink's collection, timed one by one.

    .venv/bin/python benchmarks/emergencies_stages.py [--calls 200000] [--repeat 3]

The streaming benchmark (`emergencies.py`) times the whole route: Kafka in, validation,
routing, the nearest hospital, Kafka out. Here the feed's calls (1 % broken, as the feeder
breaks them) are put in a cached DataFrame of Kafka-like rows and each stage of
``calls.validated`` runs as a batch job to a ``noop`` sink, best of ``--repeat``:

1. read the cached rows (the floor: scheduling and scan);
2. + ``from_json`` into the call schema alone (one parse, no checks);
3. + ``from_json`` as a map of field name → variant too (the two parses, no checks);
4. ``validated`` (the pipeline's validation: parses, checks, the validated columns);
5. + ``routing.routed`` with the shipped routes (their projection, the nearest-hospital pandas
   UDF on every valid call, the JSON of each routed record);
6. the same collected to the driver as Arrow (``toArrow``: what the Kafka sink does before it
   produces the batch in one transaction) instead of ``noop``.

What this leaves out of a streaming batch is the Kafka source's read, the produce and the
transaction (timed in the sink, `benchmarks/RESULTS.md`) and Spark's logs and planning.
"""

from __future__ import annotations

import threading

from harness import cached_records, noop, stage_options, stage_session, time_stages

from caudal.pipelines.emergencies import enrichment
from caudal.pipelines.emergencies.calls import CALL_SCHEMA, JSON_OPTIONS, validated
from caudal.pipelines.emergencies.feed import CallFeed
from caudal.pipelines.emergencies.routing import routed
from caudal.pipelines.emergencies.statements import SHIPPED, parse_routes
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
    enrichment.register(spark)
    out = routed(validated(raw), parse_routes(SHIPPED), "calls", "dlq")
    stages = [
        ("read the cached rows", noop(raw)),
        ("+ from_json, call schema", noop(raw.select("*", call))),
        ("+ from_json, call schema and map of variants", noop(raw.select("*", call, fields))),
        ("calls.validated (the pipeline)", noop(validated(raw))),
        ("+ routing.routed (shipped routes)", noop(out)),
        ("+ collected as Arrow (the sink's `toArrow`)", out.toArrow),
    ]
    time_stages("Emergencies query stages", stages, args.calls, "call", args.repeat)
    spark.stop()


if __name__ == "__main__":
    main()
