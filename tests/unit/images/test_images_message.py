"""The documented request schema is the one the page writes and the Spark job reads."""

from __future__ import annotations

import json

import jsonschema
import pytest

from caudal.pipelines.images.message import SCHEMA_FILE, SPARK_SCHEMA, ImageRequest


def _request(**over: object) -> ImageRequest:
    values: dict[str, object] = {
        "request_id": "0" * 32,
        "session_id": "abc-123",
        "file_name": "../piña (1).jpg",
        "image_url": "file:///data/objects/uploads/20261123/abc-123/00000-pina_1_.jpg",
        "content_type": "image/jpeg",
        "size": 5120,
        "sha256": "f" * 64,
        "uploaded_at": "2026-11-23T12:00:00+00:00",
    }
    return ImageRequest(**(values | over))  # type: ignore[arg-type]


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.mark.parametrize(
    "request_",
    [_request(), _request(image_url=None, size=0, rejected="empty file (0 bytes)")],
)
def test_what_the_page_sends_matches_the_documented_schema(request_: ImageRequest) -> None:
    _validator().validate(json.loads(request_.encode()))


def test_the_schema_the_spark_job_reads_has_the_same_fields() -> None:
    documented = set(json.loads(SCHEMA_FILE.read_text())["properties"])
    spark_columns = {part.split()[0] for part in SPARK_SCHEMA.split(",")}
    assert documented == spark_columns == set(ImageRequest.__dataclass_fields__)


def test_a_hostile_session_id_breaks_the_schema() -> None:
    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        _validator().validate(json.loads(_request(session_id="../x").encode()))
