"""Where landing CSV → bronze time goes: the bronze step's stages timed one by one.

    .venv/bin/python benchmarks/lakehouse_stages.py [--mb 100] [--repeat 2]

`lakehouse.py` times the pipeline as it runs, where a micro-batch writes bronze, the
quarantine, silver (a MERGE) and gold before the next batch starts. Here the same landing CSV
files (copies of one generated inventory file) go through the bronze step alone, as batch jobs,
best of ``--repeat``:

1. parse in one Python process (``landing.read_file``, pyarrow's CSV reader): the floor;
2. Spark: list the files, parse them on the executors (``mapInArrow``, as ``bronze.file_stream``
   does), rows to a ``noop`` sink: adds the Arrow hand-off to the JVM;
3. the same rows appended to a Delta table by Spark: adds Parquet encoding and the Delta
   commit in the JVM (the pipeline's bronze before issue 17);
4. parse + Parquet (pyarrow), and parse + a Delta append with delta-rs (``deltalake``), in one
   Python process: what a bronze whose rows never enter the JVM costs per core;
5. the pipeline's bronze now: ``BronzeSink`` on one batch of every file, the executors parse
   and write Parquet parts, the driver commits them with delta-rs.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import write_deltalake
from harness import best_of, machine

from caudal.pipelines.lakehouse import spec
from caudal.pipelines.lakehouse.bronze import BINARY_FILE_SCHEMA, file_parser
from caudal.pipelines.lakehouse.bronze_sink import BronzeSink
from caudal.pipelines.lakehouse.generate import generate_files
from caudal.pipelines.lakehouse.landing import read_file
from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.records import spark_schema
from caudal.settings import Settings
from caudal.sinks.base import SinkContext
from caudal.streaming.session import spark_session

DATASET = spec.load().datasets["inventory"]


def land(folder: Path, megabytes: int) -> tuple[int, int]:
    """Copies of one generated 200,000-row inventory file until ``megabytes``: (bytes, files)."""
    seed = generate_files(folder.parent / "seed", "inventory", "csv", 200_000, seed=1)[0]
    copies = max(1, megabytes * 2**20 // seed.stat().st_size)
    folder.mkdir(parents=True)
    for k in range(copies):
        shutil.copy(seed, folder / f"inventory-{k:04d}.csv")
    return seed.stat().st_size * copies, copies


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-lakehouse-stages-"))
    folder = work / "landing"
    size, files = land(folder, args.mb)
    spark = spark_session(Settings(data_dir=work / "data", spark_master="local[2]"), "stages")
    paths = (
        spark.read.format("binaryFile")
        .schema(BINARY_FILE_SCHEMA)
        .load(str(folder))
        .select("path", "length")
    )
    rows = paths.mapInArrow(file_parser(DATASET, 1 << 40), spark_schema(DATASET))
    tables = iter(range(1_000))

    def parsed(path: Path) -> pa.Table:
        return pa.Table.from_batches(
            read_file(DATASET, f"file://{path}", path.stat().st_size, 1 << 40)
        )

    def python_only() -> None:
        for path in sorted(folder.iterdir()):
            parsed(path)

    def python_parquet() -> None:
        out = work / "parquet" / str(next(tables))
        out.mkdir(parents=True)
        for k, path in enumerate(sorted(folder.iterdir())):
            pq.write_table(parsed(path), out / f"part-{k}.parquet")

    def python_delta() -> None:
        out = str(work / "tables" / str(next(tables)))
        for path in sorted(folder.iterdir()):
            write_deltalake(out, parsed(path), mode="append")

    def delta() -> None:
        rows.write.format("delta").save(str(work / "tables" / str(next(tables))))

    def pipeline_bronze() -> None:
        root = work / "lakehouses" / str(next(tables))
        sink = BronzeSink(DATASET, Layout(root), "bronze", file_parser(DATASET, 1 << 40))
        sink.open(SinkContext(spark, root / "checkpoint"))
        sink.write_batch(paths, 0, sink.log)

    stages = [
        ("parse, one Python process", python_only),
        ("Spark: files → parse on executors → noop", lambda: rows.write.format("noop").mode(
            "overwrite").save()),
        ("Spark: the same → Delta append (bronze alone)", delta),
        ("parse + Parquet (pyarrow), one Python process", python_parquet),
        ("parse + Delta append (delta-rs), one Python process", python_delta),
        ("the pipeline's bronze: parts written on executors, delta-rs commit", pipeline_bronze),
    ]  # fmt: skip
    mib = size / 2**20
    print(f"\n### Lakehouse bronze stages — {machine()}\n")
    print(f"{mib:,.0f} MiB of inventory CSV in {files} files, best of {args.repeat}\n")
    print("| stage | seconds | MiB/s |\n|---|---|---|")
    for name, job in stages:
        seconds = best_of(job, args.repeat)
        print(f"| {name} | {seconds:.2f} | {mib / seconds:,.1f} |", flush=True)
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
