"""The Images page in headless Chromium: a batch through Kafka and Spark, a single upload.

`caudal run images --watch` and `caudal ui` run as a user starts them, on the suite's broker
and a PostgreSQL database of this test; the page's results are checked against the model run
directly on the same files. A screenshot of the results goes to ``test-artifacts/``.
"""

from __future__ import annotations

import signal
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from caudal.models.onnx_classifier import load_classifier
from caudal.pipelines.images.pipeline import images_model
from caudal.pipelines.images.preprocess import InputSpec, prepare
from caudal.settings import Settings
from tests.support.browser import (
    FAKE_CAMERA,
    chrome,
    needs_chromium,
    screenshot,
    serving_ui,
    spawn,
    stop,
    text,
    until,
)
from tests.support.cli import cli_env
from tests.support.images import SAMPLES, fresh_database, sample_photos

SPARK_START_S = 300

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def stack(
    bootstrap: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(page URL, database URL) with the job and the UI running."""
    home = tmp_path_factory.mktemp("images-ui")
    database = fresh_database(postgres_url)
    env = cli_env(
        home / "data",
        HOME=str(home),
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=f"u{uuid.uuid4().hex[:6]}.",
        CAUDAL_DATABASE_URL=database,
        CAUDAL_SPARK_MASTER="local[2]",
    )
    job = spawn(["run", "images", "--watch"], env, home / "job.log")
    try:
        with serving_ui(env, home / "ui.log") as url:
            yield url, database
    finally:
        stop(job, signal.SIGINT)
        assert "Traceback" not in (home / "job.log").read_text()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Headless Chromium whose camera is Chromium's fake device (a moving test pattern)."""
    with chrome(tmp_path_factory.mktemp("chrome-images"), *FAKE_CAMERA) as driver:
        yield driver


def _direct(paths: list[Path]) -> dict[str, str]:
    model = load_classifier(images_model(Settings()))
    spec = InputSpec.from_card(model.card)
    proba = model.predict_proba(
        np.stack([prepare(p.read_bytes(), spec, Settings().images_max_pixels) for p in paths])
    )
    return {p.name: model.classes[int(i)] for p, i in zip(paths, proba.argmax(axis=1), strict=True)}


def _alerts(chromium: webdriver.Chrome) -> str:
    try:
        return "\n".join(
            e.text for e in chromium.find_elements(By.CSS_SELECTOR, "[data-testid=stAlert]")
        )
    except StaleElementReferenceException:
        return ""


def _session_rows(database: str, session: str) -> pd.DataFrame:
    engine = sa.create_engine(database)
    try:
        query = sa.text("select * from predictions where session_id = :s")
        return pd.read_sql(query, engine, params={"s": session})
    finally:
        engine.dispose()


def test_a_batch_upload_shows_the_models_answers(
    stack: tuple[str, str],
    chromium: webdriver.Chrome,
    tmp_path: Path,
) -> None:
    url, database = stack
    images = sample_photos()
    junk = tmp_path / "notes.png"
    junk.write_text("not a picture")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    chromium.get(f"{url}/images")
    until(chromium, lambda: "session=" in chromium.current_url, "a session id in the URL")
    session = parse_qs(urlparse(chromium.current_url).query)["session"][0]
    picker = ".st-key-batch input[type=file]"
    until(chromium, lambda: chromium.find_elements(By.CSS_SELECTOR, picker), "the file picker")
    files = chromium.find_element(By.CSS_SELECTOR, picker)
    files.send_keys("\n".join(str(p) for p in [*images, junk, empty]))
    n = len(images) + 2
    until(chromium, lambda: chromium.find_elements(By.CSS_SELECTOR, ".st-key-send button"), "send")
    chromium.find_element(By.CSS_SELECTOR, ".st-key-send button").click()
    done = f"{n} of {n} images done"
    WebDriverWait(chromium, SPARK_START_S, poll_frequency=0.5).until(
        lambda _: done in text(chromium, ".st-key-progress"), f"timed out: {done}"
    )  # the job's first micro-batch waits for its Spark session to start

    rows = _session_rows(database, session).set_index("file_name")
    assert len(rows) == n
    expected = _direct(images)
    assert rows.loc[list(expected), "label"].to_dict() == expected
    assert "not an image" in rows.loc["notes.png", "error"]
    assert rows.loc["empty.jpg", "error"] == "empty file (0 bytes)"
    refused = "empty.jpg: empty file (0 bytes)"  # listed at once, under the upload's progress bar
    until(chromium, lambda: refused in _alerts(chromium), "the upload-time refusal listed")
    captions = [f"{name}\n{label} " for name, label in expected.items()]
    captions += ["notes.png\nnot an image", "empty.jpg\nempty file (0 bytes)"]

    def grid_complete() -> bool:
        grid = text(chromium, ".st-key-grid")  # images still loading push captions out
        return all(caption in grid for caption in captions)

    until(chromium, grid_complete, "every image in the grid with the model's label")
    _assert_drawn(chromium, ".st-key-grid", len(images))
    assert not chromium.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")
    assert screenshot(chromium, "ui-images.png").stat().st_size > 10_000

    chromium.get(f"{url}/images?session={session}")  # a reload keeps the session's results
    until(chromium, lambda: done in text(chromium, ".st-key-progress"), "results after reload")


def _assert_drawn(chromium: webdriver.Chrome, where: str, n: int) -> None:
    """``n`` predictions drawn in ``where``: five bars each and a fruit badge (no sample is
    fruit, so every badge says so)."""
    drawn = chromium.find_elements(By.CSS_SELECTOR, f"{where} .caudal-top5")
    assert len(drawn) == n
    for one in drawn:
        assert len(one.find_elements(By.CSS_SELECTOR, ".caudal-bar")) == 5
        assert one.find_element(By.CSS_SELECTOR, ".caudal-fruit").text == "no fruit"


def _mode(chromium: webdriver.Chrome, url: str, name: str) -> None:
    chromium.get(f"{url}/images")
    css = ".st-key-mode button"
    until(chromium, lambda: chromium.find_elements(By.CSS_SELECTOR, css), "the mode buttons")
    next(b for b in chromium.find_elements(By.CSS_SELECTOR, css) if b.text == name).click()


def test_a_single_upload_is_classified_at_once(
    stack: tuple[str, str], chromium: webdriver.Chrome
) -> None:
    image = SAMPLES / "chelsea.jpg"
    _mode(chromium, stack[0], "Single image")
    picker = ".st-key-single input[type=file]"
    until(chromium, lambda: chromium.find_elements(By.CSS_SELECTOR, picker), "the file picker")
    started = time.monotonic()
    chromium.find_element(By.CSS_SELECTOR, picker).send_keys(str(image))
    label = _direct([image])[image.name]
    answer = f"{image.name}: {label}, confidence"
    until(chromium, lambda: answer in text(chromium, ".st-key-single_result"), "the answer")
    assert time.monotonic() - started < 10
    _assert_drawn(chromium, ".st-key-single_result", 1)


def test_a_camera_picture_is_classified_as_the_model_sees_it(
    stack: tuple[str, str], chromium: webdriver.Chrome, tmp_path: Path
) -> None:
    _mode(chromium, stack[0], "Camera")
    shoot = "//div[contains(@class, 'st-key-camera')]//button[normalize-space()='Take Photo']"
    until(chromium, lambda: chromium.find_elements(By.XPATH, shoot), "the camera's button")

    def shot_answered() -> bool:
        """Clicks until the page answers: the button is live before the stream has a frame."""
        if "confidence" in text(chromium, ".st-key-single_result"):
            return True
        for button in chromium.find_elements(By.XPATH, shoot):
            button.click()
        time.sleep(2.0)
        return "confidence" in text(chromium, ".st-key-single_result")

    until(chromium, shot_answered, "the camera picture's answer")
    src = chromium.find_element(By.CSS_SELECTOR, ".st-key-single_result img").get_attribute("src")
    with urllib.request.urlopen(urljoin(chromium.current_url, src), timeout=10) as answer:
        shown = tmp_path / "camera.jpg"
        shown.write_bytes(answer.read())
    label = _direct([shown])["camera.jpg"]
    assert f": {label}, confidence" in text(chromium, ".st-key-single_result")
    drawn = chromium.find_elements(By.CSS_SELECTOR, ".st-key-single_result .caudal-bar")
    assert len(drawn) == 5 and drawn[0].find_element(By.CSS_SELECTOR, ".caudal-label").text
    assert chromium.find_elements(By.CSS_SELECTOR, ".st-key-single_result .caudal-fruit")
