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

import argparse
import json
import tempfile
from pathlib import Path

from harness import cached_records, machine, noop, time_stages

from caudal.pipelines.trades.job import Windows, bars, parse
from caudal.pipelines.trades.market import DEFAULT_SYMBOLS, MarketSimulator
from caudal.settings import Settings
from caudal.streaming.session import spark_session


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
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trades", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from pyspark.sql import functions as F

    work = Path(tempfile.mkdtemp(prefix="bench-trades-stages-"))
    spark = spark_session(Settings(data_dir=work, spark_master="local[2]"), "bench-trades-stages")
    raw = cached_records(spark, trade_values(args.trades))
    windows = Windows()
    as_double = parse(raw).withColumn("v", F.col("v").cast("double"))
    stages = [
        ("read the cached rows", noop(raw)),
        ("+ from_json (job.parse)", noop(parse(raw))),
        ("+ bars, decimal volume (the pipeline)", noop(bars(parse(raw), windows))),
        ("+ bars, volume as double", noop(bars(as_double, windows))),
    ]
    print(f"\n### Trades stages — {machine()}\n")
    print(f"{args.trades:,} trades, batch jobs to `noop`, best of {args.repeat}\n")
    time_stages(stages, args.trades, "trade", args.repeat)
    spark.stop()


if __name__ == "__main__":
    main()
