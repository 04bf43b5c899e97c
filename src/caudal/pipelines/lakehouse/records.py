"""The shape every bronze source produces: declared columns as landed text, plus metadata.

Bronze keeps values as the source wrote them (text), so nothing is lost to a bad cast; silver
types them. Undeclared fields go to ``_rescued_data`` (JSON), as Auto Loader does. A row that
could not be read at all has ``_rule`` and ``_reason`` set and its raw text in ``_raw``; the
sink sends it to quarantine instead of bronze.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from caudal.pipelines.lakehouse.spec import Dataset

if TYPE_CHECKING:
    from pyspark.sql.types import StructType

METADATA = [
    pa.field("_rescued_data", pa.string()),
    pa.field("_source_file", pa.string()),
    pa.field("_row", pa.int64()),
    pa.field("_topic", pa.string()),
    pa.field("_partition", pa.int32()),
    pa.field("_offset", pa.int64()),
    pa.field("_schema_id", pa.int32()),
    pa.field("_rule", pa.string()),
    pa.field("_reason", pa.string()),
    pa.field("_raw", pa.string()),
]
RAW_LIMIT = 2000


def parsed_schema(dataset: Dataset) -> pa.Schema:
    return pa.schema([pa.field(c.name, pa.string()) for c in dataset.columns] + METADATA)


def spark_schema(dataset: Dataset) -> StructType:
    """The same schema for Spark: the files' ``mapInArrow`` output and the events' decoding."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(parsed_schema(dataset))


def as_text(value: Any) -> str | None:
    """A source value as bronze text: strings as they are, the rest as JSON would write it."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, default=str)


class Rows:
    """Accumulates parsed and rejected rows of one source unit into Arrow batches."""

    def __init__(self, dataset: Dataset, **meta: Any) -> None:
        self.schema = parsed_schema(dataset)
        self.declared = [c.name for c in dataset.columns]
        self.meta = meta
        self.columns: dict[str, list[Any]] = {f.name: [] for f in self.schema}

    def __len__(self) -> int:
        return len(self.columns["_rule"])

    def add(self, record: dict[str, Any], **meta: Any) -> None:
        extra = {k: v for k, v in record.items() if k not in self.columns}
        for name in self.declared:
            self.columns[name].append(as_text(record.get(name)))
        rescued = json.dumps(extra, default=str) if extra else None
        self._meta({**self.meta, **meta, "_rescued_data": rescued})

    def reject(self, rule: str, reason: str, raw: str | None, **meta: Any) -> None:
        for name in self.declared:
            self.columns[name].append(None)
        raw = raw[:RAW_LIMIT] if raw else raw
        self._meta({**self.meta, **meta, "_rule": rule, "_reason": reason, "_raw": raw})

    def _meta(self, values: dict[str, Any]) -> None:
        for f in METADATA:
            self.columns[f.name].append(values.get(f.name))

    def batch(self) -> pa.RecordBatch:
        return pa.RecordBatch.from_pydict(self.columns, schema=self.schema)
