"""Sinks written from ``foreachBatch``, each exactly-once per ``(query, batch_id)``."""
