"""Scale-out path: a streaming query over the Kafka source on a real Spark standalone cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from caudal.broker.process import free_port
from caudal.streaming.java import find_java_home
from tests.support.cli import produce

N = 5000
DRIVER = textwrap.dedent("""
    import sys, tempfile
    from pathlib import Path
    from caudal.settings import Settings
    from caudal.streaming.session import spark_session
    master, bootstrap, topic = sys.argv[1:4]
    spark = spark_session(Settings(data_dir=Path(tempfile.mkdtemp()), spark_master=master))
    assert spark.sparkContext.master == master
    df = (spark.readStream.format("kafka")
          .option("kafka.bootstrap.servers", bootstrap).option("subscribe", topic)
          .option("startingOffsets", "earliest").option("maxOffsetsPerTrigger", "1000").load())
    q = (df.selectExpr("partition", "offset").writeStream.format("memory").queryName("rows")
         .trigger(availableNow=True).start())
    q.awaitTermination()
    rows = spark.sql("select count(*) n, count(distinct partition, offset) d from rows").first()
    executors = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1
    print(f"ROWS {rows.n} DISTINCT {rows.d} EXECUTORS {executors}")
    spark.stop()
""")


def _spark_class() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """A master and two one-core workers on loopback, started from the pyspark install."""
    env = {
        **os.environ,
        "JAVA_HOME": str(find_java_home()),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_WORKER_DIR": str(tmp_path / "work"),
    }
    port = free_port()
    master_url = f"spark://127.0.0.1:{port}"
    procs = [
        subprocess.Popen(
            [
                _spark_class(),
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(free_port()),
            ],
            env=env,
            stdout=(tmp_path / "master.log").open("w"),
            stderr=subprocess.STDOUT,
        )
    ]
    time.sleep(3)
    for i in range(2):
        procs.append(
            subprocess.Popen(
                [
                    _spark_class(),
                    "org.apache.spark.deploy.worker.Worker",
                    master_url,
                    "--cores",
                    "1",
                    "--memory",
                    "1g",
                    "--webui-port",
                    str(free_port()),
                    "--host",
                    "127.0.0.1",
                ],
                env=env,
                stdout=(tmp_path / f"worker{i}.log").open("w"),
                stderr=subprocess.STDOUT,
            )
        )
    try:
        yield master_url
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


@pytest.mark.slow
def test_streaming_query_on_standalone_cluster(
    cluster: str, bootstrap: str, admin, tmp_path: Path
) -> None:
    admin.create("cluster.in", partitions=2, exist_ok=True)
    produce(bootstrap, "cluster.in", [b"x" * 100] * N)
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    result = subprocess.run(
        [sys.executable, str(script), cluster, bootstrap, "cluster.in"],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("ROWS"))
    _, rows, _, distinct, _, executors = line.split()
    assert int(rows) == N and int(distinct) == N
    assert int(executors) == 2
