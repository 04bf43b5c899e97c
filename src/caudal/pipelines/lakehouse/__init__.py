"""The lakehouse pipeline: landing files + Avro topics → bronze / silver / gold Delta tables."""
