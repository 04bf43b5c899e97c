"""ZTF alert files → Kafka (metadata + cutouts) → Spark join → stamp CNN → one row per alert.

Runtime path here; the model's development (simulator, training, card) is under ``model/``.
"""

from caudal.pipelines.alerts.settings import AlertsSettings
from caudal.pipelines.definition import Menu, PipelineDefinition

PIPELINE = PipelineDefinition(
    __name__, AlertsSettings, Menu("Alerts", ":material/flare:"), docs="README.md#alerts"
)
