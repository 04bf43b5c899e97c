"""Reading one landing file into bronze rows; everything that can be wrong with it is a row too.

Runs on Spark's executors (``mapInArrow`` over the paths the file stream source hands out), so
a file is read where it is processed and never travels through the driver. A malformed CSV
line or JSON line becomes one rejected row and the rest of the file is kept; a file that cannot
be read at all (empty, not JSON, not Parquet, wrong columns, too large) becomes one rejected
row for the whole file.

The landing contract for writers: write to a name starting with ``.`` or ``_`` (Spark's file
source never lists those) and rename to the final name when complete, so no file is read half.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pyarrow import fs

from caudal.pipelines.lakehouse.records import RAW_LIMIT, Rows, parsed_schema
from caudal.pipelines.lakehouse.spec import Dataset

CHUNK_ROWS = 65_536


def read_file(dataset: Dataset, path: str, size: int, max_bytes: int) -> Iterator[pa.RecordBatch]:
    """The file's rows in bronze shape (``records.parsed_schema``), rejects included.

    Runs on executors (mapInArrow over the file stream's paths)."""
    rows = Rows(dataset, _source_file=path)
    if size == 0:
        rows.reject("empty_file", "the file is empty", None)
    elif size > max_bytes:
        rows.reject(
            "file_too_large",
            f"the file is {size / 2**20:,.1f} MiB, over the {max_bytes / 2**20:,.0f} MiB limit "
            "(CAUDAL_LAKEHOUSE_MAX_FILE_MB)",
            None,
        )
    else:
        filesystem, where = fs.FileSystem.from_uri(path)
        with filesystem.open_input_stream(where) as stream:
            data = stream.read()
        reader = {"csv": _csv, "json": _json, "parquet": _parquet}[str(dataset.format)]
        try:
            yield from reader(dataset, data, rows)
        except (pa.ArrowInvalid, ValueError, OSError) as exc:
            rows.reject(f"unreadable_{dataset.format}", _one_line(exc), None)
    if len(rows):
        yield rows.batch()


def _one_line(exc: Exception) -> str:
    """Runs on executors (mapInArrow over the file stream's paths)."""
    return " ".join(str(exc).split())[:400]


def conform(dataset: Dataset, table: pa.Table, rows: Rows) -> Iterator[pa.RecordBatch]:
    """A table of the source's columns in bronze shape; a missing required column rejects all.

    Runs on executors (mapInArrow over the file stream's paths)."""
    present = set(table.column_names)
    missing = [c.name for c in dataset.columns if not c.optional and c.name not in present]
    if missing:
        rows.reject(
            "schema_mismatch",
            f"missing column(s) {', '.join(missing)}; the file has {', '.join(table.column_names)}",
            None,
        )
        return
    schema = parsed_schema(dataset)
    n = table.num_rows
    values: dict[str, pa.Array] = {}
    for c in dataset.columns:
        values[c.name] = (
            pc.cast(table[c.name], pa.string()).combine_chunks()
            if c.name in present
            else pa.nulls(n, pa.string())
        )
    extra = [name for name in table.column_names if name not in values]
    values["_rescued_data"] = _rescued(table.select(extra)) if extra else pa.nulls(n, pa.string())
    values["_source_file"] = pa.repeat(pa.scalar(rows.meta["_source_file"], pa.string()), n)
    values["_row"] = pa.array(np.arange(1, n + 1, dtype=np.int64))
    whole = pa.table([values.get(f.name, pa.nulls(n, f.type)) for f in schema], schema=schema)
    yield from whole.to_batches(max_chunksize=CHUNK_ROWS)


def _rescued(extra: pa.Table) -> pa.Array:
    """Runs on executors (mapInArrow over the file stream's paths)."""
    return pa.array([json.dumps(r, default=str) for r in extra.to_pylist()], pa.string())


def _csv(dataset: Dataset, data: bytes, rows: Rows) -> Iterator[pa.RecordBatch]:
    """Runs on executors (mapInArrow over the file stream's paths)."""
    header = next(csv.reader(io.StringIO(data[: data.find(b"\n") + 1 or None].decode())), [])
    if not header:
        rows.reject("unreadable_csv", "no header line", None)
        return

    def bad_line(row: Any) -> str:
        rows.reject(
            "malformed_csv",
            f"line {row.number}: {row.actual_columns} fields, expected {row.expected_columns}",
            row.text,
            _row=row.number,
        )
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(invalid_row_handler=bad_line),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            strings_can_be_null=True,
            null_values=[""],
        ),
    )
    yield from conform(dataset, table, rows)


def _json(dataset: Dataset, data: bytes, rows: Rows) -> Iterator[pa.RecordBatch]:
    """JSON lines; a file where no line parses is rejected once, not line by line.

    Runs on executors (mapInArrow over the file stream's paths)."""
    lines = [(i, ln) for i, ln in enumerate(data.splitlines(), 1) if ln.strip()]
    good, bad = Rows(dataset, **rows.meta), []
    for number, line in lines:
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError(f"a JSON {type(record).__name__}, not an object")
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
            bad.append((number, line, _one_line(exc)))
            continue
        good.add(record, _row=number)
    if bad and not len(good):
        number, line, reason = bad[0]
        rows.reject("not_json", f"not JSON lines (line {number}: {reason})", _text(line))
        return
    for number, line, reason in bad:
        rows.reject("malformed_json", f"line {number}: {reason}", _text(line), _row=number)
    if len(good):
        yield good.batch()


def _text(line: bytes) -> str:
    """Runs on executors (mapInArrow over the file stream's paths)."""
    return line[:RAW_LIMIT].decode(errors="replace")


def _parquet(dataset: Dataset, data: bytes, rows: Rows) -> Iterator[pa.RecordBatch]:
    """Runs on executors (mapInArrow over the file stream's paths)."""
    table = pq.read_table(pa.BufferReader(data))
    try:
        yield from conform(dataset, table, rows)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
        rows.reject("schema_mismatch", f"a column cannot be read as text: {_one_line(exc)}", None)
