"""The Cluster page of `caudal ui` and `caudal status` while a real `caudal run sensors --watch`
runs: the broker, its topics and the query's consumer group from Kafka's admin API, the query
itself from Spark's progress; once the run is stopped, no query is listed."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from caudal.pipelines import run_status
from caudal.settings import Settings
from tests.support.browser import needs_chromium, screenshot, serving_ui, spawn, stop, text, until
from tests.support.cli import caudal, cli_env

QUERY = "sensors.readings"

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def run(
    bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, str], subprocess.Popen, Path]]:
    """`caudal run sensors --watch` as a user starts it, once its query has made a batch."""
    home = tmp_path_factory.mktemp("cluster-ui")
    env = cli_env(
        home / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=f"k{uuid.uuid4().hex[:6]}.",
        CAUDAL_SPARK_MASTER="local[2]",
        HOME=str(home),
    )
    proc = spawn(["run", "sensors", "--watch", "-n", "3000", "-r", "300"], env, home / "run.log")
    settings = Settings(data_dir=home / "data")
    deadline = time.monotonic() + 300
    while not any(q.batch >= 0 for r in run_status.running(settings) for q in r.queries):
        assert proc.poll() is None, (home / "run.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the query made no batch within 300 s"
        time.sleep(1)
    try:
        yield env, proc, home
    finally:
        if proc.poll() is None:
            stop(proc, signal.SIGINT)


def test_the_page_and_status_show_the_cluster_and_the_running_query(
    run: tuple[dict[str, str], subprocess.Popen, Path], browser: webdriver.Chrome
) -> None:
    env, proc, home = run
    topic = f"{env['CAUDAL_TOPIC_PREFIX']}{QUERY}"
    status = caudal("status", env=env)
    assert status.returncode == 0, status.stderr
    for shown in ("brokers", "controller", topic, f"caudal.{QUERY}", "running queries"):
        assert shown in status.stdout, shown
    assert QUERY in status.stdout.split("running queries", 1)[1]

    with serving_ui(env, home / "ui.log") as url:
        browser.get(f"{url}/cluster")
        until(browser, lambda: "controller" in text(browser, ".st-key-brokers"), "the broker")
        until(browser, lambda: topic in text(browser, ".st-key-topics"), "the input topic")
        groups = ".st-key-consumer-groups"
        until(browser, lambda: f"caudal.{QUERY}" in text(browser, groups), "the query's group")
        queries = ".st-key-running-queries"
        until(browser, lambda: QUERY in text(browser, queries), "the running query")
        until(browser, lambda: "s ago" in text(browser, queries), "its last progress")
        screenshot(browser, "cluster.png")

        stop(proc, signal.SIGINT)
        until(
            browser,
            lambda: "no pipeline is running" in text(browser, queries),
            "the stopped run's query gone",
        )
