"""A Kafka source and sink for Spark as a Python Data Source, mirroring Spark's built-in one.

Options and columns are those of ``spark-sql-kafka-0-10`` so a user with that jar switches by
changing only the format name (``caudal-kafka`` → ``kafka``).
"""

FORMAT = "caudal-kafka"
