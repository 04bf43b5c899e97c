"""The smallest pipeline: simulated sensor readings → Kafka → Spark → JSON-lines file.

The worked example of docs/adding-a-pipeline.md: a feeder, a query, a sink, a command.
"""

from caudal.pipelines.definition import PipelineDefinition

PIPELINE = PipelineDefinition(__name__, docs="docs/adding-a-pipeline.md")
