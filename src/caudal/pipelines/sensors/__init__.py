"""The smallest pipeline: simulated sensor readings → Kafka → Spark → JSON-lines file."""
