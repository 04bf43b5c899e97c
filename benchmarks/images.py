"""Images pipeline end to end: page uploads → store → Kafka → Spark + ONNX → SQL rows.

    .venv/bin/python benchmarks/images.py [--images 2000] [--database-url URL] [--browser]

`caudal run images --watch` runs as a user starts it (Spark `local[2]`) and is warmed up with
a first small batch; then a batch of 224x224 JPEGs (Fashion-MNIST test photos scaled up) is
uploaded through the page's own uploader, as fast as it goes. Reports images/s from the first
upload to the last row, the latency from upload to row (p50/p99), where the time goes, and
the single-image latency of the page's in-process mode (and, with --browser, in Chromium).
"""

from __future__ import annotations

import argparse
import io
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
from PIL import Image

from caudal.broker.client import client_config
from caudal.broker.embedded import start_broker, stop_broker
from caudal.pipelines.images.message import TOPIC
from caudal.pipelines.images.upload import BatchUploader, Upload, new_session
from caudal.settings import Settings
from caudal.sinks.sql import database_url
from caudal.storage.factory import object_store
from caudal.ui import images_data

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "images"


def jpegs(n: int) -> list[Upload]:
    """``n`` distinct 224x224 JPEGs: the shipped samples scaled up, one pixel varied each."""
    sources = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(SAMPLES.glob("*.png"))]
    out = []
    for i in range(n):
        pixels = np.array(Image.fromarray(sources[i % len(sources)]).resize((224, 224)))
        pixels[0, 0] = (i % 256, i // 256 % 256, 0)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
        out.append(Upload(f"img-{i:05d}.jpg", buffer.getvalue(), "image/jpeg"))
    return out


def rows_of(settings: Settings, session: str) -> pd.DataFrame:
    engine = sa.create_engine(database_url(settings))
    try:
        query = sa.text("select * from predictions where session_id = :s")
        return pd.read_sql(query, engine, params={"s": session})
    except sa.exc.DatabaseError:
        return pd.DataFrame()
    finally:
        engine.dispose()


def wait_rows(settings: Settings, session: str, n: int, timeout_s: float) -> pd.DataFrame:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = rows_of(settings, session)
        if len(rows) >= n:
            return rows
        time.sleep(0.2)
    raise SystemExit(f"only {len(rows_of(settings, session))} of {n} rows after {timeout_s} s")


def single_latency(settings: Settings, uploads: list[Upload]) -> np.ndarray:
    images_data.classify_one(uploads[0].data, settings)  # model load, as the page's first use
    times = []
    for upload in uploads:
        started = time.perf_counter()
        images_data.classify_one(upload.data, settings)
        times.append(time.perf_counter() - started)
    return np.array(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
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
    try:
        uploads = jpegs(args.images)
        conf = client_config(settings, info.bootstrap)
        uploader = BatchUploader(settings, object_store(settings), conf, settings.topic(TOPIC))
        warm = new_session()
        started = time.perf_counter()
        uploader.submit(warm, uploads[:20])
        wait_rows(settings, warm, 20, 300)
        warm_up = time.perf_counter() - started

        session = new_session()
        started = time.perf_counter()
        uploader.submit(session, uploads)
        uploaded = time.perf_counter() - started
        rows = wait_rows(settings, session, args.images, 600)
        whole = time.perf_counter() - started
        single = single_latency(settings, uploads[:50])
    finally:
        os.killpg(job.pid, signal.SIGINT)
        job.wait(60)
        stop_broker(settings)
    report(args, rows, whole, uploaded, warm_up, single, settings)


def report(
    args: argparse.Namespace,
    rows: pd.DataFrame,
    whole: float,
    uploaded: float,
    warm_up: float,
    single: np.ndarray,
    settings: Settings,
) -> None:
    received = pd.to_datetime(rows["received_at"], utc=True, format="mixed")
    classified = pd.to_datetime(rows["classified_at"], utc=True, format="mixed")
    latency = (classified - received).dt.total_seconds().to_numpy()
    batches = classified.nunique()
    db = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"\n### Images pipeline — {datetime.now(UTC):%Y-%m-%d} — {platform.node()}, "
        f"{os.cpu_count()} cores, Spark `local[2]`, {db}, folder object store\n"
    )
    size = np.mean([len(u.data) for u in jpegs(20)])
    print(f"{len(rows):,} JPEGs of 224x224 ({size / 1024:.1f} KB each)\n")
    p50, p99 = np.percentile(latency, [50, 99])
    s50, s99 = np.percentile(single, [50, 99]) * 1000
    measures = [
        ("rows", f"{len(rows):,} ({int((rows['status'] == 'classified').sum()):,} classified)"),
        (
            "end to end, first upload → last row",
            f"{len(rows) / whole:,.0f} images/s ({whole:.1f} s)",
        ),
        (
            "upload (store + Kafka) alone",
            f"{len(rows) / uploaded:,.0f} images/s ({uploaded:.1f} s)",
        ),
        ("latency upload → row p50 / p99", f"{p50:.2f} s / {p99:.2f} s"),
        ("micro-batches that wrote rows", str(batches)),
        ("job warm-up (first 20 images, Spark start incl.)", f"{warm_up:.1f} s"),
        ("single image in the page's process p50 / p99", f"{s50:.1f} ms / {s99:.1f} ms"),
    ]
    print("| measure | value |\n|---|---|")
    for name, value in measures:
        print(f"| {name} | {value} |", flush=True)
    if args.browser:
        page = page_latency(settings)
        print(
            f"| single upload → answer on the page (Chromium) p50 / max | "
            f"{np.median(page):.2f} s / {page.max():.2f} s |"
        )


def page_latency(settings: Settings, n: int = 10) -> np.ndarray:
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
        time.sleep(5)
        driver.get(f"http://127.0.0.1:{port}/images")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".st-key-mode button"))
        buttons = driver.find_elements(By.CSS_SELECTOR, ".st-key-mode button")
        next(b for b in buttons if b.text == "Single image").click()
        picker = ".st-key-single input[type=file]"
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, picker))
        for path in sorted(SAMPLES.glob("*.png"))[: n + 1]:
            started = time.perf_counter()
            driver.find_element(By.CSS_SELECTOR, picker).send_keys(str(path))
            wait.until(lambda d, name=path.name: _answered(d, name))
            times.append(time.perf_counter() - started)
    finally:
        driver.quit()
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(30)
    return np.array(times[1:])  # the first includes the model load of a fresh page process


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
