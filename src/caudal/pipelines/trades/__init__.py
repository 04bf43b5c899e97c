"""Live market trades (Finnhub protocol) → Kafka → Spark windows + online regression → documents."""

from pathlib import Path

from caudal.pipelines.definition import Page, PipelineDefinition
from caudal.pipelines.trades.settings import TradesSettings

PIPELINE = PipelineDefinition(
    name="trades",
    commands="caudal.pipelines.trades.cli",
    settings=TradesSettings,
    page=Page(
        Path(__file__).parent / "page.py",
        "Trades",
        ":material/candlestick_chart:",
        "Live market trades of `caudal run trades`: per symbol price candles with VWAP, "
        "volume, next-bar forecast against actual with rolling error, and feed health.",
        "trades",
    ),
    docs="docs/trades.md",
)
