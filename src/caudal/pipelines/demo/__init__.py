"""The platform demo: simulated sensor readings → Kafka → Spark → JSON-lines file."""
