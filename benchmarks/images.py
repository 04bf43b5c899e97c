"""Images pipeline end to end: uploads → store → Kafka → Spark + MobileNetV2 (ONNX) → SQL rows.

    .venv/bin/python benchmarks/images.py [--images 3000] [--steady-s 30] [--database-url URL]
                                          [--browser]

`caudal run images --watch` runs as a user starts it (Spark `local[2]`) and is warmed up with
a first small batch. Then, in the same run:

1. throughput: a batch of real photos (the samples, one pixel varied per copy, so each file
   is distinct) sent through the page's own uploader as fast as it goes; images/s over the
   backlog (the batches that start after the last upload: while the uploads go on, the
   uploader and the broker share the cores with the job), against the
   model alone on the same photos (ONNX Runtime, the pipeline's batch size, as many threads as
   Spark has cores; over three windows) and against decode + model in one process;
   also from the first upload to the last row;
2. latency at a steady rate: 20 images/s for ``--steady-s`` seconds, one upload each, the
   time from upload to row (p50/p99);
3. a single image: the page's in-process path (p50/p99), and with --browser the page in
   Chromium, file handed to the picker → answer shown (p50/p99).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from harness import Goal, PeakMemory, Result, batch_commits
from PIL import Image

from caudal.broker.client import client_config
from caudal.broker.embedded import start_broker, stop_broker
from caudal.models.onnx_classifier import OnnxClassifier
from caudal.pipelines import names
from caudal.pipelines.images import page_data as images_data
from caudal.pipelines.images.classify import CHUNK, classify_images
from caudal.pipelines.images.message import TOPIC
from caudal.pipelines.images.pipeline import images_model
from caudal.pipelines.images.preprocess import InputSpec, prepare
from caudal.pipelines.images.upload import BatchUploader, Upload, new_session
from caudal.settings import Settings
from caudal.sinks.sql import database_url
from caudal.storage.factory import object_store

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "images"
SPARK_CORES = 2
STEADY_RATE = 20
REPEAT = 3
"""Windows the model alone is measured in; the reference is the rate over all of them."""


def photos(n: int) -> list[Upload]:
    """``n`` distinct JPEGs: the shipped sample photos, one pixel varied per copy."""
    sources = [np.array(Image.open(p).convert("RGB")) for p in sorted(SAMPLES.glob("*.*g"))]
    out = []
    for i in range(n):
        pixels = sources[i % len(sources)].copy()
        pixels[0, 0] = (i % 256, i // 256 % 256, 0)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=88)
        out.append(Upload(f"img-{i:05d}.jpg", buffer.getvalue(), "image/jpeg"))
    return out


def model_alone(settings: Settings, uploads: list[Upload]) -> tuple[list[float], list[float]]:
    """Images/s of ONNX inference alone, and of decode + inference, in ``REPEAT`` windows each.

    Runs while the job idles between its triggers, as the rest of the run. ONNX Runtime's
    two threads wait for each other at every operator, so a window of one second is moved
    ±20 % by whatever else wakes up in it (153 to 236 images/s within one run); the
    reference is the rate over all the windows, a measurement as long as several of the
    pipeline's batches, and each window is reported beside it."""
    model = OnnxClassifier(images_model(settings), threads=SPARK_CORES)
    spec = InputSpec.from_card(model.card)
    tensors = np.stack([prepare(u.data, spec, settings.images_max_pixels) for u in uploads])
    model.predict_proba(tensors[:CHUNK], batch_size=CHUNK)
    inference, decode_and_model = [], []
    for _ in range(REPEAT):
        started = time.perf_counter()
        model.predict_proba(tensors, batch_size=CHUNK)
        inference.append(len(tensors) / (time.perf_counter() - started))
        started = time.perf_counter()
        for first in range(0, len(uploads), CHUNK):
            chunk = [u.data for u in uploads[first : first + CHUNK]]
            classify_images(chunk, model, settings.images_max_pixels)
        decode_and_model.append(len(uploads) / (time.perf_counter() - started))
    return inference, decode_and_model


def backlog_rate(settings: Settings, uploaded_at: float) -> tuple[float, int, int]:
    """(images/s, images, batches) over the job's batches that started after the last upload.

    Read from the query's checkpoint: a batch starts when its offsets are logged and ends with
    its commit. Batches that began while the uploads were still going are left out: the
    uploader and the broker took up to a third of the cores from them (measured), so they
    time a feed, not a backlog."""
    checkpoint = names.checkpoint(settings, "images", "predictions")
    logged = {int(p.name): p for p in (checkpoint / "offsets").glob("[0-9]*")}
    done = batch_commits(checkpoint)
    ends = {n: records_before(path) for n, path in logged.items()}
    later = [n for n in sorted(done) if n - 1 in done and logged[n].stat().st_mtime >= uploaded_at]
    if not later:
        return float("nan"), 0, 0
    images = ends[later[-1]] - ends[later[0] - 1]
    return images / (done[later[-1]] - done[later[0] - 1]), images, len(later)


def records_before(offsets: Path) -> int:
    """A batch's end offsets (the last line of its offsets log), summed over the partitions."""
    last = json.loads(offsets.read_text().splitlines()[-1])
    return sum(sum(partitions.values()) for partitions in last.values())


def rows_of(settings: Settings, session: str) -> pd.DataFrame:
    engine = sa.create_engine(database_url(settings))
    try:
        query = sa.text("select * from predictions where session_id = :s")
        return pd.read_sql(query, engine, params={"s": session})
    except sa.exc.DatabaseError:
        return pd.DataFrame()
    finally:
        engine.dispose()


def count_rows(settings: Settings, session: str) -> int:
    engine = sa.create_engine(database_url(settings))
    try:
        query = sa.text("select count(*) from predictions where session_id = :s")
        with engine.connect() as connection:
            return int(connection.execute(query, {"s": session}).scalar_one())
    except sa.exc.DatabaseError:
        return 0
    finally:
        engine.dispose()


def wait_rows(settings: Settings, session: str, n: int, timeout_s: float) -> pd.DataFrame:
    """The session's rows once there are ``n``; polls a count (reading every row at each poll
    took ~6 % of a core from the job it waits for)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if count_rows(settings, session) >= n:
            return rows_of(settings, session)
        time.sleep(0.25)
    raise SystemExit(f"only {count_rows(settings, session)} of {n} rows after {timeout_s} s")


def single_latency(settings: Settings, uploads: list[Upload]) -> np.ndarray:
    images_data.classify_one(uploads[0].data, settings)  # model load, as the page's first use
    times = []
    for upload in uploads:
        started = time.perf_counter()
        images_data.classify_one(upload.data, settings)
        times.append(time.perf_counter() - started)
    return np.array(times)


def steady(uploader: BatchUploader, settings: Settings, uploads: list[Upload]) -> np.ndarray:
    """Upload → row seconds with one upload every 1/STEADY_RATE s (each its own request)."""
    session = new_session()
    started = time.perf_counter()
    for i, upload in enumerate(uploads):
        pause = started + i / STEADY_RATE - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        uploader.submit(session, [upload], first_index=i)
    rows = wait_rows(settings, session, len(uploads), 300)
    received = pd.to_datetime(rows["received_at"], utc=True, format="mixed")
    classified = pd.to_datetime(rows["classified_at"], utc=True, format="mixed")
    return (classified - received).dt.total_seconds().to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--steady-s", type=int, default=30, help="seconds at 20 images/s")
    parser.add_argument("--database-url", default=None, help="default: SQLite in the data dir")
    parser.add_argument("--browser", action="store_true", help="also time the page in Chromium")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-images-"))
    settings = Settings(data_dir=work / "data", database_url=args.database_url)
    info, _ = start_broker(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAUDAL_")}
    env |= {"CAUDAL_DATA_DIR": str(settings.data_dir), "CAUDAL_SPARK_MASTER": "local[2]"}
    if args.database_url:
        env["CAUDAL_DATABASE_URL"] = args.database_url
    log = (work / "job.log").open("w")
    job = subprocess.Popen(
        [sys.executable, "-m", "caudal.cli.main", "run", "images", "--watch"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    figures: dict[str, object] = {}
    with PeakMemory(info.pids, match=str(work)) as memory:
        try:
            uploads = photos(args.images)
            conf = client_config(settings, info.bootstrap)
            uploader = BatchUploader(settings, object_store(settings), conf, settings.topic(TOPIC))
            warm = new_session()
            started = time.perf_counter()
            uploader.submit(warm, uploads[:20])
            wait_rows(settings, warm, 20, 400)
            figures["warm_up"] = time.perf_counter() - started

            session = new_session()
            started = time.perf_counter()
            uploader.submit(session, uploads)
            figures["uploaded"] = time.perf_counter() - started
            uploaded_at = time.time()
            figures["rows"] = wait_rows(settings, session, args.images, 900)
            figures["backlog"] = backlog_rate(settings, uploaded_at)
            figures["whole"] = time.perf_counter() - started
            figures["model"] = model_alone(settings, uploads[:200])
            figures["steady"] = steady(uploader, settings, photos(STEADY_RATE * args.steady_s))
            figures["single"] = single_latency(settings, uploads[:50])
            if args.browser:
                figures["page"] = page_latency(settings)
        finally:
            os.killpg(job.pid, signal.SIGINT)
            job.wait(60)
            stop_broker(settings)
    report(args, figures, memory.peak_mb)


def report(args: argparse.Namespace, f: dict, peak_mb: float) -> None:
    rows: pd.DataFrame = f["rows"]
    received = pd.to_datetime(rows["received_at"], utc=True, format="mixed")
    classified = pd.to_datetime(rows["classified_at"], utc=True, format="mixed")
    latency = (classified - received).dt.total_seconds().to_numpy()
    whole_rate = len(rows) / f["whole"]
    pipeline_rate, backlog_images, backlog_batches = f["backlog"]
    inferences, decodes = f["model"]
    inference, decode_and_model = overall(inferences), overall(decodes)
    db = "PostgreSQL" if args.database_url else "SQLite"
    size = np.mean([len(u.data) for u in photos(20)])
    print(
        f"\n### Images pipeline — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {platform.node()}, "
        f"{os.cpu_count()} cores, Spark `local[2]`, {db}, folder object store\n"
    )
    print(f"{len(rows):,} sample photos as JPEG ({size / 1024:.1f} KB each), MobileNetV2\n")
    p50, p99 = np.percentile(latency, [50, 99])
    t50, t99 = np.percentile(f["steady"], [50, 99])
    s50, s99 = np.percentile(f["single"], [50, 99]) * 1000
    classified_n = int((rows["status"] == "classified").sum())
    measures = [
        ("rows", f"{len(rows):,} ({classified_n:,} classified)"),
        ("pipeline, first upload → last row", f"{whole_rate:,.1f} images/s ({f['whole']:.1f} s)"),
        ("pipeline, batches started after the last upload",
         f"{pipeline_rate:,.1f} images/s ({backlog_images:,} in {backlog_batches} batches)"),
        (f"model alone (ONNX, batch {CHUNK}, {SPARK_CORES} threads), {REPEAT} windows",
         f"{inference:,.1f} images/s ({spread(inferences)})"),
        ("pipeline (backlog) / model alone", f"**{pipeline_rate / inference:.2f}×** (goal ≥ 0.8×)"),
        (f"decode (1 thread) + model (2) in one process, {REPEAT} windows",
         f"{decode_and_model:,.1f} images/s ({spread(decodes)})"),
        ("pipeline (backlog) / (decode + model)", f"{pipeline_rate / decode_and_model:.2f}×"),
        ("upload (store + Kafka) alone", f"{len(rows) / f['uploaded']:,.0f} images/s"),
        ("backlog latency upload → row p50 / p99", f"{p50:.2f} s / {p99:.2f} s"),
        (f"steady {STEADY_RATE} images/s for {args.steady_s} s: upload → row p50 / p99",
         f"{t50:.2f} s / **{t99:.2f} s** (goal p99 < 2 s)"),
        ("job warm-up (first 20 images, Spark start incl.)", f"{f['warm_up']:.1f} s"),
        ("single image in the page's process p50 / p99", f"{s50:.1f} ms / {s99:.1f} ms"),
    ]  # fmt: skip
    if "page" in f:
        g50, g99 = np.percentile(f["page"], [50, 99])
        name = f"single upload → answer on the page (Chromium, {len(f['page'])}) p50 / p99"
        measures.append((name, f"{g50:.2f} s / **{g99:.2f} s** (goal p99 < 2 s)"))
    measures.append(("peak memory (driver, Python workers, broker, job)", f"{peak_mb:,.0f} MiB"))
    print("| measure | value |\n|---|---|")
    for name, value in measures:
        print(f"| {name} | {value} |", flush=True)
    command = f"benchmarks/images.py --images {args.images} --steady-s {args.steady_s}"
    Result(
        "images",
        command + (" --browser" if args.browser else ""),
        [
            Goal("pipeline / model alone (backlog batches)", pipeline_rate / inference, 0.8, "×"),
            Goal(f"upload → row p99 at {STEADY_RATE} images/s", float(t99), 2, "s", False),
        ],
        peak_mb,
    ).save()


def overall(rates: list[float]) -> float:
    """The rate over equal-sized windows measured at ``rates``: their harmonic mean."""
    return len(rates) / sum(1 / r for r in rates)


def spread(rates: list[float]) -> str:
    return "windows: " + ", ".join(f"{r:,.1f}" for r in rates)


def page_latency(settings: Settings, n: int = 20) -> np.ndarray:
    """Seconds from handing a file to the page's single-image picker to its answer showing."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from caudal.broker.process import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAUDAL_")}
    ui = subprocess.Popen(
        [sys.executable, "-m", "caudal.cli.main", "ui", "--port", str(port)],
        env=env | {"CAUDAL_DATA_DIR": str(settings.data_dir)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(driver, 60, poll_frequency=0.02)
    times = []
    try:
        serving(f"http://127.0.0.1:{port}/_stcore/health", 120)
        driver.get(f"http://127.0.0.1:{port}/images")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".st-key-mode button"))
        buttons = driver.find_elements(By.CSS_SELECTOR, ".st-key-mode button")
        next(b for b in buttons if b.text == "Single image").click()
        picker = ".st-key-single input[type=file]"
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, picker))
        folder = Path(tempfile.mkdtemp(prefix="bench-page-"))
        for upload in photos(n + 1):
            path = folder / upload.name
            path.write_bytes(upload.data)
            started = time.perf_counter()
            driver.find_element(By.CSS_SELECTOR, picker).send_keys(str(path))
            wait.until(lambda d, name=path.name: _answered(d, name))
            times.append(time.perf_counter() - started)
    finally:
        driver.quit()
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(30)
    return np.array(times[1:])  # the first includes the model load of a fresh page process


def serving(url: str, timeout_s: float) -> None:
    """Wait for ``caudal ui`` to answer (a loaded machine takes tens of seconds)."""
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _answered(driver: object, name: str) -> bool:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, ".st-key-single_result")  # type: ignore[attr-defined]
    try:
        return bool(found) and f"{name}:" in found[0].text and "confidence" in found[0].text
    except StaleElementReferenceException:  # the page re-rendered the result between calls
        return False


if __name__ == "__main__":
    main()
