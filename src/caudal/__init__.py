"""Caudal: real-time machine-learning pipelines on Apache Kafka and Spark Structured Streaming."""

__version__ = "0.1.0"
