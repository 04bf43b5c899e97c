"""Images pipeline: upload → object store → Kafka → Spark (fetch, decode, ONNX) → SQL."""
