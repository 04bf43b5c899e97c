"""Images pipeline: upload → object store → Kafka → Spark (fetch, decode, ONNX) → SQL.

Runtime path here; the model's build (MobileNetV2 → ONNX, card) is under ``model/``.
"""

from caudal.pipelines.definition import Menu, PipelineDefinition
from caudal.pipelines.images.settings import ImagesSettings

PIPELINE = PipelineDefinition(
    __name__, ImagesSettings, Menu("Images", ":material/image_search:"), docs="docs/images.md"
)
