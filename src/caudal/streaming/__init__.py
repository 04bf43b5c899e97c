"""The Spark side: session factory, the Kafka data source, serialisation."""
