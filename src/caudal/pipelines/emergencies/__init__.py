"""112 emergency calls routed by SQL statements (ksqlDB style), medical calls enriched."""

from caudal.pipelines.definition import Menu, PipelineDefinition
from caudal.pipelines.emergencies.settings import EmergenciesSettings

PIPELINE = PipelineDefinition(
    __name__,
    EmergenciesSettings,
    Menu("Emergencies", ":material/emergency:"),
    docs="docs/emergencies.md",
)
