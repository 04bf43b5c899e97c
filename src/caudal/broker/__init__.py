"""The Kafka side: the embedded broker's life cycle, client settings and topic admin."""
