"""Live market trades (Finnhub protocol) → Kafka → Spark windows + online regression → documents."""
