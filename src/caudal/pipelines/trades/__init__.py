"""Live market trades (Finnhub protocol) → Kafka → Spark windows + online regression → documents."""

from caudal.pipelines.definition import Menu, PipelineDefinition
from caudal.pipelines.trades.settings import TradesSettings

PIPELINE = PipelineDefinition(
    __name__, TradesSettings, Menu("Trades", ":material/candlestick_chart:"), docs="docs/trades.md"
)
