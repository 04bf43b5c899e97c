"""The bars' volumes are exact sums: ``decimal(18,8)`` trades, added as longs by Spark, widen
to ``decimal(28,8)`` without loss, past what one long holds (job.py, design note 19)."""

from __future__ import annotations

from decimal import Decimal

from pyspark.sql import functions as F

from caudal.pipelines.trades.job import Windows, bars, parse
from caudal.pipelines.trades.protocol import MAX_VOLUME

T0 = 1_700_000_000_000


def test_volumes_sum_exactly_beyond_a_long(spark) -> None:  # type: ignore[no-untyped-def]
    largest = f"{Decimal(MAX_VOLUME) - Decimal('1e-8'):.8f}"  # the most a trade may carry
    volumes = [largest] * 3_000 + ["0.00000001"] * 7
    rows = [
        (f'{{"s":"X","p":2.5,"t":{T0 + k},"v":{v},"rx":{T0 + k}}}'.encode(), k % 2, k)
        for k, v in enumerate(volumes)
    ]
    raw = spark.createDataFrame(rows, "value binary, partition int, offset long")
    exact = sum(Decimal(v) for v in volumes)  # 3×10^21 units of 10^-8: no long holds it

    (total,) = parse(raw).agg(F.sum("v")).first()
    (bar,) = bars(parse(raw), Windows()).select("trades", "volume").collect()

    assert largest == "9999999999.99999999"
    assert total == exact
    assert bar["trades"] == len(volumes) and bar["volume"] == float(exact)
