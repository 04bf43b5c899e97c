"""Lakehouse: landing CSV → bronze MB/s and rows/s, events/s → bronze, file → gold freshness.

    .venv/bin/python benchmarks/lakehouse.py [--mb 1600] [--files-per-batch 16] [--events 100000]
        [--samples 5]

Throughput runs ``caudal run lakehouse --once`` in-process on one dataset at a time, Spark
already started (as a long-running job would be), the landing files taken ``--files-per-batch``
at a time: by default 16 files of 18 MB, 289 MB a batch (a quarter of the pipeline's own
default of 64 files), so that a 1.6 GB backlog gives five steady batches to time. A batch has
~0.6 s of fixed cost (RESULTS.md). The landing → bronze figure is over the steady batches, as
for every pipeline: the bytes of bronze batches 2..n over the time from the first batch's
commit to the last's (the bronze query's checkpoint: the files each batch took, its commit
markers). Also shown: from the run's start to the last bronze commit (query start and the
Python workers' first start included), and the whole run, silver and gold included (silver is
its own query, reading bronze as a stream, started once the backlog is in bronze). Freshness
starts ``caudal run lakehouse --watch`` as a user would, drops one inventory file at a time
and times how long until the gold table ``stock_cover`` (inventory + sales) has a commit after
the file landed. Commit times are read as the UI reads them (delta-rs, no Spark job), so
watching the tables takes no Spark time from the run being measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deltalake import DeltaTable
from harness import Goal, PeakMemory, Result, batch_commits, machine

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.broker.embedded import start_broker, stop_broker
from caudal.broker.exceptions import BrokerError
from caudal.pipelines import names
from caudal.pipelines.lakehouse.caught_up import logged_files
from caudal.pipelines.lakehouse.generate import generate_files
from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.page_data import last_commit_ms
from caudal.pipelines.lakehouse.pipeline import NAME, lakehouse_pipeline
from caudal.pipelines.lakehouse.publish import publish_sales
from caudal.pipelines.runner import run_pipeline
from caudal.registry.embedded import registry_url
from caudal.settings import Settings
from caudal.streaming.session import spark_session

ROOT = Path(__file__).resolve().parents[1]


def land_csv(layout: Layout, megabytes: int) -> tuple[int, int]:
    """Copies of one generated inventory file until ``megabytes``; returns (bytes, rows)."""
    seed = generate_files(layout.root / "seed", "inventory", "csv", 200_000, seed=1)[0]
    rows_per_file = 200_000
    size, copies = seed.stat().st_size, max(1, megabytes * 2**20 // seed.stat().st_size)
    folder = layout.landing("inventory")
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(copies):
        shutil.copy(seed, folder / f".inventory-{k:04d}.csv")
        (folder / f".inventory-{k:04d}.csv").rename(folder / f"inventory-{k:04d}.csv")
    return size * copies, rows_per_file * copies


def warm_group_coordinator(admin: TopicAdmin, topic: str) -> None:
    """A fresh broker creates ``__consumer_offsets`` on the first group request and answers
    NOT_COORDINATOR until it has loaded; the runner's lag bookkeeping does not retry that yet,
    so the events run would die on its first offset commit."""
    deadline = time.monotonic() + 60
    while True:
        try:
            admin.commit_offsets("bench-lakehouse-warmup", {(topic, 0): 0})
            return
        except BrokerError:  # NOT_COORDINATOR, wrapped
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def timed_run(settings: Settings, url: str, dataset: str) -> tuple[float, float]:
    """(seconds to the last bronze commit, seconds for the whole run) of a --once run."""
    started = time.time()
    run_pipeline(lakehouse_pipeline(settings, url, [dataset]), settings, once=True)
    ended = time.time()
    bronze = DeltaTable(str(Layout.of(settings).table("bronze", dataset)))
    return last_commit_ms(bronze) / 1000 - started, ended - started


def steady_bytes_per_s(settings: Settings, dataset: str) -> tuple[float, int]:
    """(bytes/s over bronze batches 2..n, batches) of a file dataset's --once run."""
    checkpoint = names.checkpoint(settings, NAME, f"bronze_{dataset}")
    sizes: dict[int, int] = {}
    for batch, path in logged_files(checkpoint):
        sizes[batch] = sizes.get(batch, 0) + Path(path).stat().st_size
    done = batch_commits(checkpoint)
    last = max(done)
    if last < 1:
        return float("nan"), last + 1
    steady = sum(size for batch, size in sizes.items() if 1 <= batch <= last)
    return steady / (done[last] - done[0]), last + 1


def freshness(env: dict[str, str], layout: Layout, samples: int) -> list[float]:
    """Seconds from an inventory file landing to the next stock_cover gold commit."""
    job = subprocess.Popen(
        [sys.executable, "-m", "caudal.cli.main", "run", "lakehouse", "--watch"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    gold = layout.table("gold", "stock_cover")
    times = []
    try:
        for k in range(samples + 1):  # the first file waits for Spark and its workers to start
            landed = time.time()
            generate_files(layout.landing("inventory").parent, "inventory", "csv", 2000, seed=k)
            deadline = landed + (300 if k == 0 else 120)
            while time.time() < deadline:
                if DeltaTable.is_deltatable(str(gold)):
                    committed = last_commit_ms(DeltaTable(str(gold))) / 1000
                    if committed > landed:
                        break
                time.sleep(0.1)
            else:
                raise SystemExit(f"no gold commit within {deadline - landed:.0f} s of file {k}")
            if k:
                times.append(committed - landed)
                print(f"file {k}: in gold after {committed - landed:.1f} s", flush=True)
            time.sleep(2)
    finally:
        os.killpg(job.pid, signal.SIGINT)
        try:
            job.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(job.pid, signal.SIGKILL)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1600)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--files-per-batch", type=int, default=16)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-lakehouse-"))
    settings = Settings(
        data_dir=work / "data",
        spark_master="local[2]",
        lakehouse_max_files_per_trigger=args.files_per_batch,
    )
    layout = Layout.of(settings)
    size, rows = land_csv(layout, args.mb)
    spark_session(settings, app_name="bench-lakehouse")
    memory = PeakMemory(match=str(work)).__enter__()
    info, _ = start_broker(settings)
    lines = [
        f"### Lakehouse pipeline — {machine()}, Spark `local[2]`",
        "| measure | value |\n|---|---|",
    ]
    try:
        with registry_url(settings) as url:
            to_bronze, whole = timed_run(settings, url, "inventory")
            steady, batches = steady_bytes_per_s(settings, "inventory")
            mb_s = steady / 2**20
            lines.append(
                f"| landing CSV → bronze, steady batches | {mb_s:,.1f} MB/s "
                f"({batches} batches of {args.files_per_batch} files, the first not counted) |"
            )
            lines.append(
                f"| run start → last bronze commit | {size / 2**20 / to_bronze:,.1f} MB/s, "
                f"{rows / to_bronze:,.0f} rows/s ({size / 2**20:,.0f} MB, {rows:,} rows, "
                f"{to_bronze:.1f} s) |"
            )
            lines.append(f"| same run incl. silver + gold | {whole:.1f} s |")
            topic = settings.topic("lakehouse.sales")
            admin = TopicAdmin(settings, info.bootstrap)
            admin.create(topic, 2, exist_ok=True)  # the broker creates no topic by itself
            warm_group_coordinator(admin, topic)
            admin.close()
            publish_sales(client_config(settings, info.bootstrap), url, topic, args.events, seed=3)
            events_bronze, events_whole = timed_run(settings, url, "sales")
            lines.append(
                f"| Avro events → bronze | {args.events / events_bronze:,.0f} events/s "
                f"({args.events:,} events, {events_bronze:.1f} s; whole run "
                f"{events_whole:.1f} s) |"
            )
        # the watch run finds this broker through the data dir: the checkpoints above are
        # kept, so it only takes the files landing from now on
        env = {**os.environ, "CAUDAL_DATA_DIR": str(settings.data_dir)}
        env |= {"CAUDAL_SPARK_MASTER": "local[2]"}
        fresh = freshness(env, layout, args.samples)
        lines.append(
            f"| file landing → gold (stock_cover) | median {statistics.median(fresh):.1f} s, "
            f"max {max(fresh):.1f} s over {len(fresh)} files |"
        )
    finally:
        stop_broker(settings)
        memory.__exit__()
        shutil.rmtree(work, ignore_errors=True)
        lines.append(
            f"| peak memory (driver, Python workers, broker) | {memory.peak_mb:,.0f} MiB |"
        )
        print("\n" + "\n".join(lines))
    Result(
        "lakehouse",
        f"benchmarks/lakehouse.py --mb {args.mb} --events {args.events} --samples {args.samples}"
        f" --files-per-batch {args.files_per_batch}",
        [
            Goal("landing CSV → bronze, steady batches", mb_s, 100, "MB/s"),
            Goal("a landed file → gold, slowest of the samples", max(fresh), 10, "s", False),
        ],
        memory.peak_mb,
    ).save()


if __name__ == "__main__":
    main()
