"""Writing to files from Spark, exactly once per micro-batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from caudal.sinks.base import SinkContext
from caudal.sinks.batch_log import BatchLog, FileIntent
from caudal.sinks.files import AppendFileSink, ParquetSink


def frame(rows: list[tuple[int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "name"])


def test_append_file_sink_replay_after_a_partial_append_leaves_each_row_once(
    spark: Any, tmp_path: Path
) -> None:
    path = tmp_path / "out" / "results.csv"
    checkpoint = tmp_path / "checkpoint"
    sink = AppendFileSink(path)
    sink.open(SinkContext(spark, checkpoint))
    write = sink.write
    first = [(1, "one"), (2, "two")]
    second = [(3, "three"), (4, "four, with a comma")]
    write(spark.createDataFrame(first, "id int, name string"), 0)

    # batch 1 crashed half-way through its append, after recording its intent
    log = BatchLog(checkpoint / "sinks" / sink.name)
    log.record_intent(1, FileIntent(path.stat().st_size))
    with path.open("ab") as fh:
        fh.write(b'3,three\n4,"four, wi')

    write(spark.createDataFrame(second, "id int, name string"), 1)
    write(spark.createDataFrame(second, "id int, name string"), 1)

    assert pd.read_csv(path).to_dict("records") == frame(first + second).to_dict("records")
    assert sink.batches_skipped == 1


def test_parquet_sink_is_idempotent_per_batch(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    checkpoint = tmp_path / "checkpoint"
    sink = ParquetSink(path)
    sink.open(SinkContext(spark, checkpoint))
    write = sink.write
    first = [(1, "one"), (2, "two")]
    second = [(3, "three")]
    write(spark.createDataFrame(first, "id int, name string"), 0)
    write(spark.createDataFrame(first, "id int, name string"), 0)

    # batch 1 crashed after its file was in place but before the commit marker
    (path / "part-00000001.parquet").write_bytes(b"PAR1 truncated garbage")
    (path / ".part-00000001.parquet.tmp").write_bytes(b"PAR1 half")
    write(spark.createDataFrame(second, "id int, name string"), 1)

    table = pq.read_table(path).to_pandas().sort_values("id", ignore_index=True)
    assert table.to_dict("records") == frame(first + second).to_dict("records")
    assert sink.batches_skipped == 1
    assert sorted(p.name for p in path.glob("part-*")) == [
        "part-00000000.parquet",
        "part-00000001.parquet",
    ]
