"""``caudal run trades`` and ``caudal trades record``: the live market trades pipeline."""

from __future__ import annotations

from pathlib import Path

import typer

from caudal.broker.process import free_port
from caudal.cli.output import command, console, settings
from caudal.cli.pipeline_commands import PipelineCommands
from caudal.cli.run import execute
from caudal.errors import CaudalError
from caudal.pipelines.trades.settings import TradesSettings

app = typer.Typer(help="Market trades helpers: record a simulated feed.", no_args_is_help=True)
FEEDS = ("simulator", "replay", "finnhub", "none")


def _symbols(text: str) -> tuple[str, ...]:
    symbols = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if not symbols:
        raise CaudalError("--symbols is empty", "e.g. --symbols AAPL,MSFT,BINANCE:BTCUSDT")
    return symbols


@command
def run_trades(
    symbols: str = typer.Option(
        "AAPL,MSFT,BINANCE:BTCUSDT", "--symbols", "-s", help="Comma-separated symbols."
    ),
    feed: str = typer.Option(
        "simulator",
        "--feed",
        help="simulator (local Finnhub-protocol server), replay (--replay FILE), finnhub "
        "(the real feed; CAUDAL_FINNHUB_TOKEN), none (process what trades.raw has).",
    ),
    rate: float = typer.Option(1_000, "--rate", "-r", min=1, help="Simulator: mean trades/s."),
    count: int | None = typer.Option(
        None, "--count", "-n", min=1, help="Simulator: stop after N trades (default: run on)."
    ),
    replay: Path | None = typer.Option(None, "--replay", help="Recording (JSONL) to replay."),
    speed: float = typer.Option(1.0, "--speed", min=0, help="Replay speed; 0 = flat out."),
    momentum: float = typer.Option(
        0.5, "--momentum", min=0, help="Simulator: 0 = pure random walk, 1 = strong trends."
    ),
    bad_fraction: float = typer.Option(
        0.0005, "--bad-fraction", min=0, max=1, help="Simulator: faulty messages per trade."
    ),
    late_fraction: float = typer.Option(
        0.002, "--late-fraction", min=0, max=1, help="Simulator: trades arriving 5-30 s late."
    ),
    bar_s: int = typer.Option(5, "--bar", min=1, help="Tumbling bar length, seconds."),
    lateness_s: int = typer.Option(2, "--lateness", min=0, help="Watermark delay, seconds."),
    slide: int = typer.Option(6, "--slide", min=1, help="Bars per sliding window."),
    record: Path | None = typer.Option(None, "--record", help="Append every message to FILE."),
    once: bool | None = typer.Option(
        None,
        "--once/--watch",
        help="Exit when the feed ends and every bar is written (default when the feed is "
        "finite: --count or replay), or keep running until Ctrl-C.",
    ),
) -> None:
    """Trades over a WebSocket (Finnhub protocol) → Kafka → Spark bars + online regression →
    documents, with Prometheus metrics. See the charts with `caudal ui` (Trades page)."""
    from caudal.metrics import PipelineMetrics
    from caudal.pipelines.trades.job import Windows
    from caudal.pipelines.trades.pipeline import TradesOptions, trades_pipeline

    if feed not in FEEDS:
        raise CaudalError(f"unknown --feed {feed!r}", f"one of {', '.join(FEEDS)}")
    options = TradesOptions(
        symbols=_symbols(symbols),
        feed=feed,  # type: ignore[arg-type]
        rate=rate,
        count=count,
        replay=replay,
        speed=speed,
        momentum=momentum,
        bad_fraction=bad_fraction,
        late_fraction=late_fraction,
        record=record,
        windows=Windows(bar_s, lateness_s, slide),
    )
    current = settings()
    metrics = PipelineMetrics("trades")
    pipeline, _ = trades_pipeline(current, options, metrics)
    url = metrics.serve(TradesSettings.of(current).metrics_port or free_port())
    console.print(f"metrics: {url}", soft_wrap=True, highlight=False)
    finite = feed == "replay" or count is not None or feed == "none"
    try:
        execute(pipeline, finite if once is None else once)
    finally:
        metrics.stop()


@app.command("record")
@command
def record(
    out: Path = typer.Option(..., "--out", "-o", help="JSONL recording to write."),
    seconds: float = typer.Option(60, "--seconds", min=1, help="Simulated seconds of market."),
    symbols: str = typer.Option("AAPL,MSFT,BINANCE:BTCUSDT", "--symbols", "-s"),
    rate: float = typer.Option(1_000, "--rate", "-r", min=1, help="Mean trades/s."),
    momentum: float = typer.Option(0.5, "--momentum", min=0),
    seed: int = typer.Option(0, "--seed", help="Same seed, same recording."),
) -> None:
    """Write a simulated feed as a recording for `caudal run trades --feed replay --replay`."""
    from caudal.pipelines.trades.market import MarketSimulator
    from caudal.pipelines.trades.sources import record_line, simulated_recording, wall_ms

    market = MarketSimulator(_symbols(symbols), rate, wall_ms(), seed=seed, momentum=momentum)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as fh:
        for at, text in simulated_recording(market, seconds):
            record_line(fh, at, text)
    console.print(f"[green]wrote[/] {market.sent_good:,} trades ({seconds:g} s) to {out}")


COMMANDS = PipelineCommands(run=run_trades, group=app)
