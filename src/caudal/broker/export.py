"""Every record of a topic, decoded, into a JSON array or JSON-lines file.

Reads each partition's committed records (``read_committed``) from its first offset to the
end it had when the export started, with ``assign()`` and explicit offsets, and decodes values
as ``caudal topics tail`` does (Avro by registry or embedded schema, JSON, text). What was in
the topic when the export started is what is exported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from caudal.broker.admin import TopicAdmin
from caudal.broker.tail import TailRecord, committed_reader, read_range
from caudal.errors import CaudalError
from caudal.settings import Settings
from caudal.streaming.serde import DecodeError, decode_value

FORMATS = {".json": "array", ".jsonl": "lines"}


def read_topic(
    settings: Settings,
    admin: TopicAdmin,
    topic: str,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[TailRecord]:
    """All records, partition by partition, in offset order; ``progress(done, total)``."""
    parts = [p for p in admin.partitions(topic) if p.end > p.start]
    total, done = sum(p.offsets for p in parts), 0
    consumer = committed_reader(settings, admin.bootstrap, "caudal-export")
    try:
        for p in parts:
            for record in read_range(consumer, p, p.start, settings.kafka_timeout_s):
                done += 1
                yield record
                if progress is not None and done % 10_000 == 0:
                    progress(done, total)
        if progress is not None:  # transaction markers take offsets: the total was an estimate
            progress(done, done)
    finally:
        consumer.close()


def decoded(record: TailRecord, registry_url: str | None) -> Any:
    """The record's value for people: decoded, or a note saying why it could not be."""
    try:
        return decode_value(record.value, registry_url)
    except DecodeError as exc:
        return {"undecodable": exc.reason, "bytes": len(record.value or b"")}


def with_metadata(record: TailRecord, value: Any) -> dict[str, Any]:
    when = datetime.fromtimestamp(record.timestamp_ms / 1000, UTC)
    return {
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": when.isoformat(timespec="milliseconds"),
        "key": record.key.decode("utf-8", "replace") if record.key is not None else None,
        "value": value,
    }


def export_topic(
    settings: Settings,
    admin: TopicAdmin,
    topic: str,
    out: Path,
    metadata: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the topic to ``out`` (``.json``: one array; ``.jsonl``: a line per record)."""
    shape = FORMATS.get(out.suffix.lower())
    if shape is None:
        raise CaudalError(
            f"cannot tell the format of {out.name}", "name the file .json (array) or .jsonl (lines)"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    count = 0
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write("[\n" if shape == "array" else "")
        for record in read_topic(settings, admin, topic, progress):
            value = decoded(record, settings.schema_registry_url)
            item = with_metadata(record, value) if metadata else value
            text = json.dumps(item, ensure_ascii=False, default=str)
            fh.write(("" if count == 0 or shape == "lines" else ",\n") + text)
            fh.write("\n" if shape == "lines" else "")
            count += 1
        fh.write("\n]\n" if shape == "array" else "")
    tmp.replace(out)
    return count
