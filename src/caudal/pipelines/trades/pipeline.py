"""The trades pipeline as the runner sees it: a WebSocket feed, one Spark query, documents."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from caudal.docstore import Document, open_store
from caudal.errors import CaudalError
from caudal.metrics import PipelineMetrics
from caudal.pipelines.base import Pipeline, QuerySpec, TopicSpec
from caudal.pipelines.feeder import Feeder
from caudal.pipelines.trades import job
from caudal.pipelines.trades.feed import TradeFeed, TradeTopics
from caudal.pipelines.trades.market import DEFAULT_SYMBOLS, MarketSimulator
from caudal.pipelines.trades.protocol import MAX_AGE_MS
from caudal.pipelines.trades.server import FinnhubServer
from caudal.pipelines.trades.settings import TradesSettings
from caudal.pipelines.trades.sources import ReplaySource, SimulatedSource, Source, wall_ms
from caudal.settings import Settings
from caudal.sinks.documents import DocumentSink

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

FeedKind = Literal["simulator", "replay", "finnhub", "none"]
log = logging.getLogger(__name__)
LATENCY_BUCKETS = (0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60)
STATE_PARTITIONS = 2
"""Both stateful operators commit every partition's store every batch: a live batch took ~3.1 s
at the median with the platform's 4 partitions on ``local[2]``, ~0.8 s with 2 (RESULTS.md)."""


@dataclass(frozen=True)
class TradesOptions:
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    feed: FeedKind = "simulator"
    rate: float = 1_000.0
    count: int | None = None
    """Simulator: end the feed after this many trades (a finite run)."""
    replay: Path | None = None
    speed: float = 1.0
    momentum: float = 0.5
    bad_fraction: float = 0.0005
    late_fraction: float = 0.002
    seed: int = 0
    drop_every: int | None = None
    """Local server: close every connection after this many messages (a restart drill)."""
    record: Path | None = None
    windows: job.Windows = field(default_factory=job.Windows)


def trades_pipeline(
    settings: Settings, options: TradesOptions, metrics: PipelineMetrics
) -> tuple[Pipeline, FinnhubServer | None]:
    """The pipeline, and the local server it will run (None for the real feed)."""
    topics = TradeTopics.named(settings.topic)
    if settings.max_offsets_per_trigger:
        log.warning(
            "a batch cap splits a backlog between partitions by offset, not by time: the "
            "watermark can drop on-time trades of a lagging partition as late (docs/trades.md); "
            "leave CAUDAL_MAX_OFFSETS_PER_TRIGGER unset for trades or raise --lateness"
        )
    server = _local_server(options)
    feeders: list[Feeder] = []
    if options.feed != "none":
        feeders.append(_feed(settings, options, topics, metrics, server))
    sink = DocumentSink("documents", lambda: open_store(settings), _observer(metrics))
    query = QuerySpec(
        "documents",
        [topics.raw],
        lambda spark, ctx: job.build(spark, ctx, topics.raw, options.windows),
        sink,
        trigger_s=0.5,
        stateful=True,
        state_partitions=STATE_PARTITIONS,
    )
    pipeline = Pipeline(
        name="trades",
        description=f"{options.feed} trades of {', '.join(options.symbols)} → Kafka → Spark "
        f"{options.windows.bar_s} s bars + online regression → documents",
        topics=[TopicSpec(topics.raw, 2), TopicSpec(topics.dlq, 1)],
        feeders=feeders,
        queries=[query],
        outputs=[_store_name(settings)],
        start=lambda spark, _ctx: _start(spark, metrics),
    )
    return pipeline, server


def _local_server(options: TradesOptions) -> FinnhubServer | None:
    source: Source
    if options.feed == "simulator":
        market = MarketSimulator(
            options.symbols,
            options.rate,
            wall_ms(),
            seed=options.seed,
            momentum=options.momentum,
            bad_fraction=options.bad_fraction,
            late_fraction=options.late_fraction,
        )
        source = SimulatedSource(market, options.count)
    elif options.feed == "replay":
        if options.replay is None or not options.replay.is_file():
            raise CaudalError(
                f"no recording to replay at {options.replay}",
                "give --replay FILE (from `caudal trades record` or `--record`)",
            )
        bar_ms = options.windows.bar_s * 1000
        source = ReplaySource(options.replay, frozenset(options.symbols), options.speed, bar_ms)
        if source.backdate_ms + bar_ms > MAX_AGE_MS:
            raise CaudalError(
                f"at speed {options.speed:g} this recording's first trades would be dated "
                f"{source.backdate_ms / 60_000:.0f} min back, past the feed's "
                f"{MAX_AGE_MS // 60_000} min limit",
                "replay it slower (speed 1 always fits), or replay a part of it",
            )
    else:
        return None
    return FinnhubServer(source, drop_every=options.drop_every)


def _feed(
    settings: Settings,
    options: TradesOptions,
    topics: TradeTopics,
    metrics: PipelineMetrics,
    server: FinnhubServer | None,
) -> TradeFeed:
    url: str | Callable[[], AbstractContextManager[str]]
    token = None
    if server is not None:
        url = server.running
    else:
        section = TradesSettings.of(settings)
        secret = section.finnhub_token
        if secret is None or not secret.get_secret_value():
            raise CaudalError(
                "--feed finnhub needs an API token",
                "get a free one at https://finnhub.io and export CAUDAL_FINNHUB_TOKEN=...",
            )
        url, token = section.finnhub_url, secret.get_secret_value()
    bars = options.windows
    return TradeFeed(
        url,
        list(options.symbols),
        topics,
        token=token,
        record=options.record,
        metrics=metrics,
        flush_after_ms=(bars.bar_s + bars.lateness_s + 1) * 1000,
    )


def _start(spark: SparkSession, metrics: PipelineMetrics) -> None:
    """Driver, before the query: RocksDB for the per-symbol state, committed as a changelog
    (a batch writes its changes, snapshots follow in the background; measured at 20,000
    trades/s, 2 state partitions: the two state stores' commits from 313 + 246 to 183 + 132 ms
    per batch), and Spark's progress into the run's metrics."""
    spark.conf.set("spark.sql.streaming.stateStore.providerClass", job.ROCKSDB)
    spark.conf.set(job.CHANGELOG, "true")
    spark.streams.addListener(metrics.listener())


def _observer(metrics: PipelineMetrics) -> Callable[[dict[str, list[Document]]], None]:
    """Window latency, event-time lag and model errors from each batch's documents."""
    latency = metrics.histogram(
        "caudal_trades_window_latency_seconds",
        "From a bar's end (its last possible trade) to its document being written.",
        ["pipeline"],
        LATENCY_BUCKETS,
    )
    lag = metrics.gauge(
        "caudal_trades_event_lag_seconds", "Now minus the end of the newest bar.", ["symbol"]
    )
    rmse = metrics.gauge(
        "caudal_trades_model_rmse_bp", "Rolling RMSE of next-bar returns.", ["symbol", "model"]
    )

    def observe(docs: dict[str, list[Document]]) -> None:
        for bar in docs.get("windows", []):
            latency.labels(metrics.pipeline).observe((bar["written_at"] - bar["end"]) / 1000)
            lag.labels(bar["symbol"]).set((wall_ms() - bar["end"]) / 1000)
        for scored in docs.get("predictions", []):
            rmse.labels(scored["symbol"], "online").set(scored["rolling_rmse_bp"])
            rmse.labels(scored["symbol"], "naive").set(scored["rolling_naive_rmse_bp"])

    return observe


def _store_name(settings: Settings) -> str:
    """Where ``open_store`` puts the documents, without printing any secret."""
    if settings.mongo_url is not None and settings.mongo_url.get_secret_value():
        return "MongoDB (CAUDAL_MONGO_URL)"
    database = settings.database_url.get_secret_value() if settings.database_url else ""
    if database.startswith("postgresql"):
        return "PostgreSQL JSONB table caudal_documents (CAUDAL_DATABASE_URL)"
    return str(settings.data_dir / "documents.sqlite")
