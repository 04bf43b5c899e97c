"""What `caudal status` and the Cluster page show, from a look at the cluster and the runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from caudal.broker.admin import BrokerNode
from caudal.broker.cluster import ClusterLook, GroupRow, TopicRow, with_rates
from caudal.pipelines import run_status
from caudal.pipelines.progress import QueryStats
from caudal.settings import Settings
from caudal.status import sections

TOPIC = TopicRow("sensors.readings", 2, 1, 1, end_offset=100, offsets=100)


def _look(at: float, end: int, bootstrap: str = "127.0.0.1:9092") -> ClusterLook:
    broker = BrokerNode(1, "127.0.0.1", 9092, controller=True)
    groups = [GroupRow("caudal.sensors.readings", TOPIC.name, 2, 90, 10)]
    return ClusterLook(bootstrap, at, [broker], [replace(TOPIC, end_offset=end)], groups)


def test_records_per_second_come_from_two_looks_at_the_end_offsets() -> None:
    first, second = _look(100.0, 100), _look(102.0, 160)
    assert with_rates(None, first).topics[0].per_s is None
    assert with_rates(first, second).topics[0].per_s == 30.0
    other_cluster = _look(101.0, 500, bootstrap="elsewhere:9092")
    assert with_rates(other_cluster, second).topics[0].per_s is None


def test_the_tables_hold_brokers_topics_groups_and_running_queries() -> None:
    at = (datetime.now(UTC) - timedelta(seconds=3)).isoformat()
    query = QueryStats("sensors.readings", 7, 120.0, 118.0, 450, 10, 950, state_rows=4,
                       last_progress=at)  # fmt: skip
    run = run_status.RunStatus("sensors", os.getpid(), 0.0, [query])
    brokers, topics, groups, queries = sections(with_rates(_look(0, 40), _look(2, 100)), [run])
    assert brokers.rows == [["1", "127.0.0.1:9092", "controller"]]
    assert topics.rows == [["sensors.readings", "2", "1", "1", "100", "100", "30.0"]]
    assert groups.rows == [["caudal.sensors.readings", "sensors.readings", "2", "90", "10"]]
    assert queries.rows == [
        ["sensors.readings", "7", "120", "118", "450", "4", "10", "950", "3 s ago"]
    ]
    assert sections(_look(0, 0), [])[3].rows == []


def test_a_run_is_listed_while_its_process_lives(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    query = QueryStats("sensors.readings", 1, 1.0, 1.0, 10, 0, 5)
    run_status.publish(settings, "sensors", [query])
    (running,) = run_status.running(settings)
    assert running.pipeline == "sensors" and running.queries == [query]
    assert running.age_s < 60

    gone = run_status.RunStatus("alerts", _dead_pid(), 0.0, [])
    (tmp_path / "runs" / "alerts.json").write_text(json.dumps(asdict(gone)))
    assert [r.pipeline for r in run_status.running(settings)] == ["sensors"]  # a killed run
    run_status.withdraw(settings, "sensors")
    assert run_status.running(settings) == []


def _dead_pid() -> int:
    """The id of a process that has ended (a child, waited for)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(30)
    return child.pid
