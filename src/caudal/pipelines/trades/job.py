"""The Spark side: trades → event-time bars (watermarked) → per-symbol state → documents.

One streaming query. Trades are parsed with an explicit schema; a watermark ``lateness``
behind the newest trade decides when a bar is final, and a trade arriving after its bar was
final is dropped by Spark and counted (``numRowsDroppedByWatermark``, exported as late
trades). Finished bars feed ``transformWithStateInPandas`` keyed by symbol, whose state
(sliding windows, regression, scores; see ``model.py``) lives in the RocksDB state store of
the checkpoint, so a restart resumes it exactly. Volumes are decimals so sums are exact; at
``decimal(18,8)`` each one fits a long and Spark adds them as longs (a bar's sum widens to
``decimal(28,8)`` without loss), twice as fast as ``decimal(28,8)`` inputs
(benchmarks/trades_stages.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from caudal.pipelines.base import JobContext
from caudal.pipelines.trades.model import SymbolState, log_price_std

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TRADE_SCHEMA = "s string, p double, t long, v decimal(18,8), c array<string>, rx long"
DOC_SCHEMA = "collection string, key string, doc string"
FLUSH_SYMBOL = "__flush__"
"""A marker trade, produced when a finite feed ends, dated past the watermark so that the
last bars are final without waiting for more trades. It must reach the watermark, and Spark
pushes filters below ``withWatermark``, so it is a valid trade (price and volume 1) whose
bar the per-symbol step ignores; it moves the watermark and nothing else."""
ROCKSDB = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
CHANGELOG = "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled"


@dataclass(frozen=True)
class Windows:
    bar_s: int = 5
    lateness_s: int = 2
    slide_bars: int = 6


def parse(raw: DataFrame) -> DataFrame:
    """Kafka rows → typed trades with event time ``ts`` (rows that do not parse are dropped
    here; the feeder sends only checked trades, so these are foreign records).

    The parsed struct comes out of a generator (``inline`` of a one-element array): Spark pushes
    the ``where`` below a projection by copying ``from_json`` into the filter, once per field it
    tests, so each trade was parsed three times; a generator's output is not copied
    (benchmarks/trades_stages.py: parsing 300,000 trades 2.4 → 1.2 s)."""
    from pyspark.sql import functions as F

    parsed = F.from_json(F.col("value").cast("string"), TRADE_SCHEMA).alias("j")
    trades = raw.select(F.inline(F.array(F.struct(parsed, "partition", "offset")))).select(
        "j.*", "partition", "offset"
    )
    return trades.where(F.col("s").isNotNull() & F.col("t").isNotNull()).withColumn(
        "ts", F.timestamp_millis("t")
    )


def bars(trades: DataFrame, windows: Windows) -> DataFrame:
    """Tumbling OHLCV bars per symbol; open/close are the first/last trade by (time, offset)."""
    from pyspark.sql import functions as F

    order = F.struct("t", "partition", "offset")
    logp = F.log(F.col("p"))
    agg = (
        trades.withWatermark("ts", f"{windows.lateness_s} seconds")
        .where((F.col("p") > 0) & (F.col("v") > 0))
        .groupBy(F.col("s").alias("symbol"), F.window("ts", f"{windows.bar_s} seconds"))
        .agg(
            F.min_by("p", order).alias("open"),
            F.max("p").alias("high"),
            F.min("p").alias("low"),
            F.max_by("p", order).alias("close"),
            F.sum("v").alias("volume"),
            F.sum(F.col("p") * F.col("v").cast("double")).alias("notional"),
            F.count(F.lit(1)).alias("trades"),
            F.sum(logp).alias("sum_logp"),
            F.sum(logp * logp).alias("sum_logp2"),
            F.max("rx").alias("last_rx"),
        )
    )
    return agg.select(
        "symbol",
        (F.unix_millis(F.col("window.start"))).alias("start"),
        (F.unix_millis(F.col("window.end"))).alias("end"),
        "open",
        "high",
        "low",
        "close",
        F.col("volume").cast("double").alias("volume"),
        (F.col("notional") / F.col("volume").cast("double")).alias("vwap"),
        "trades",
        "sum_logp",
        "sum_logp2",
        "last_rx",
    )


def build(spark: SparkSession, ctx: JobContext, raw_topic: str, windows: Windows) -> DataFrame:
    """The whole query: raw topic → documents ``collection, key, doc`` (JSON)."""
    from pyspark.sql.streaming import StatefulProcessor, StatefulProcessorHandle

    slide_bars = windows.slide_bars

    class PerSymbol(StatefulProcessor):
        """Feeds each finished bar to the symbol's ``SymbolState``, in time order.

        Runs on executors: Spark's transformWithStateInPandas calls it per symbol with its state."""

        def init(self, handle: StatefulProcessorHandle) -> None:
            self.state = handle.getValueState("model", "json string")

        def handleInputRows(  # noqa: N802 (Spark's name)
            self, key: Any, rows: Iterator[pd.DataFrame], timerValues: Any
        ) -> Iterator[pd.DataFrame]:
            symbol = str(key[0])
            if symbol == FLUSH_SYMBOL:
                return
            stored = self.state.get() if self.state.exists() else None
            state = SymbolState.from_dict(json.loads(stored[0])) if stored else SymbolState(symbol)
            frame = pd.concat(list(rows)).sort_values("start")
            docs = [d for bar in _bar_dicts(frame) for d in state.update(bar, slide_bars)]
            self.state.update((json.dumps(state.to_dict()),))
            yield pd.DataFrame(
                [(c, k, json.dumps(doc)) for c, k, doc in docs],
                columns=["collection", "key", "doc"],
            )

        def close(self) -> None:
            pass

    finished = bars(parse(ctx.read_topics(spark, [raw_topic])), windows)
    return finished.groupBy("symbol").transformWithStateInPandas(
        statefulProcessor=PerSymbol(),
        outputStructType=DOC_SCHEMA,
        outputMode="Append",
        timeMode="None",
    )


def _bar_dicts(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """One symbol's finished bars as plain dicts with their volatility.

    Runs on executors (inside the per-symbol stateful processor)."""
    for row in frame.to_dict("records"):
        bar = {k: _plain(v) for k, v in row.items()}
        bar["volatility"] = log_price_std(bar["trades"], bar["sum_logp"], bar["sum_logp2"])
        yield bar


def _plain(value: Any) -> Any:
    """numpy scalars → Python ones and missing values (NaN, e.g. a trade without ``rx``) →
    None, so documents are plain JSON (a NaN is not JSON; SQLite and MongoDB refuse it).

    Runs on executors (inside the per-symbol stateful processor)."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and math.isnan(value) else value
