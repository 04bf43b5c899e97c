"""ZTF alert files → Kafka (metadata + cutouts) → Spark join → stamp CNN → one row per alert.

Runtime path here; the model's development (simulator, training, card) is under ``model/``.
"""

from pathlib import Path

from caudal.pipelines.alerts.settings import AlertsSettings
from caudal.pipelines.definition import Page, PipelineDefinition

PIPELINE = PipelineDefinition(
    name="alerts",
    commands="caudal.pipelines.alerts.cli",
    settings=AlertsSettings,
    page=Page(
        Path(__file__).parent / "page.py",
        "Alerts",
        ":material/flare:",
        "Output of `caudal run alerts` / `caudal demo`: alerts per class, the classified "
        "alerts with their flags and errors, and for one alert its science, template and "
        "difference stamps beside the model's class probabilities.",
        "alerts",
    ),
    docs="README.md#alerts",
)
