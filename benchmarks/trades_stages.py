"""Where a trades batch's time goes: the query's stages timed one by one on the same trades.

    .venv/bin/python benchmarks/trades_stages.py [--trades 500000] [--repeat 3]

The streaming benchmark (`trades.py`) reports Spark's own split of a micro-batch, in which
``addBatch`` is most of the time and says nothing of what inside it costs. Here the same
simulated trades (the feed's record format) are put in a cached DataFrame of Kafka-like rows
and each prefix of the query runs as a batch job to a ``noop`` sink, best of ``--repeat``:

1. read the cached rows (the floor: scheduling and scan);
2. + ``from_json`` into the trade schema (``job.parse``);
3. + the bars' aggregation as the pipeline has it (decimal volume);
4. the same with the volume as a double (what exact decimal sums cost).

The per-symbol stateful step and the state store are not here: `trades.py` reports their
share of a streaming batch from Spark's operator metrics.
"""

from __future__ import annotations

import json

from harness import cached_records, noop, stage_options, stage_session, time_stages

from caudal.pipelines.trades.job import Windows, bars, parse
from caudal.pipelines.trades.market import DEFAULT_SYMBOLS, MarketSimulator


def trade_values(n: int) -> list[tuple[bytes, int, int]]:
    """``n`` trades as the feeder writes them (``value, partition, offset``)."""
    market = MarketSimulator(DEFAULT_SYMBOLS, 20_000, 1_700_000_000_000)
    rows: list[tuple[bytes, int, int]] = []
    while len(rows) < n:
        for message in market.advance(market.now_ms + 1000):
            if message.good:
                for trade in json.loads(message.text)["data"]:
                    value = json.dumps({**trade, "rx": trade["t"] + 5}).encode()
                    rows.append((value, len(rows) % 2, len(rows) // 2))
    return rows[:n]


def main() -> None:
    args = stage_options(__doc__, "trades", 500_000)
    from pyspark.sql import functions as F

    spark = stage_session("bench-trades-stages")
    raw = cached_records(spark, trade_values(args.trades))
    windows = Windows()
    as_double = parse(raw).withColumn("v", F.col("v").cast("double"))
    stages = [
        ("read the cached rows", noop(raw)),
        ("+ from_json (job.parse)", noop(parse(raw))),
        ("+ bars, decimal volume (the pipeline)", noop(bars(parse(raw), windows))),
        ("+ bars, volume as double", noop(bars(as_double, windows))),
    ]
    time_stages("Trades stages", stages, args.trades, "trade", args.repeat)
    spark.stop()


if __name__ == "__main__":
    main()
