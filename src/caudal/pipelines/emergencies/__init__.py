"""112 emergency calls routed by SQL statements (ksqlDB style), medical calls enriched."""

from pathlib import Path

from caudal.pipelines.definition import Page, PipelineDefinition
from caudal.pipelines.emergencies.settings import EmergenciesSettings

PIPELINE = PipelineDefinition(
    name="emergencies",
    commands="caudal.pipelines.emergencies.cli",
    settings=EmergenciesSettings,
    page=Page(
        Path(__file__).parent / "page.py",
        "Emergencies",
        ":material/emergency:",
        "112 calls of `caudal run emergencies`: records per route topic and dead letters, "
        "calls per route over time, and the newest calls on a map of Spain.",
        "emergencies",
    ),
    docs="docs/emergencies.md",
)
