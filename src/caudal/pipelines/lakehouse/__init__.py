"""The lakehouse pipeline: landing files + Avro topics → bronze / silver / gold Delta tables."""

from caudal.pipelines.definition import Menu, PipelineDefinition
from caudal.pipelines.lakehouse.settings import LakehouseSettings

PIPELINE = PipelineDefinition(
    __name__, LakehouseSettings, Menu("Lakehouse", ":material/database:"), docs="docs/lakehouse.md"
)
