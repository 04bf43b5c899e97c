"""Images pipeline: upload → object store → Kafka → Spark (fetch, decode, ONNX) → SQL.

Runtime path here; the model's build (MobileNetV2 → ONNX, card) is under ``model/``.
"""

from pathlib import Path

from caudal.pipelines.definition import Page, PipelineDefinition
from caudal.pipelines.images.settings import ImagesSettings

PIPELINE = PipelineDefinition(
    name="images",
    commands="caudal.pipelines.images.cli",
    settings=ImagesSettings,
    page=Page(
        Path(__file__).parent / "page.py",
        "Images",
        ":material/image_search:",
        "Classify one picture (upload or camera) at once, or a batch through the object "
        "store, Kafka and Spark (`caudal run images`): table, image grid and statistics "
        "of a session, as its rows arrive.",
        "images",
    ),
    docs="docs/images.md",
)
