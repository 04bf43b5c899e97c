"""The one SparkSession factory: local by default, any master by setting.

Runs on the driver. The session gets Spark's own Kafka (``format("kafka")``), Avro
(``from_avro``) and Delta Lake connectors as local jars resolved once from Maven Central
(``caudal.jars``); ``spark.jars`` ships them to the executors of any cluster. On a cluster
started with ``spark-submit --packages`` instead, set ``CAUDAL_SPARK_CONF`` with
``{"spark.jars": ""}`` to use the jars it already has.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from caudal.jars import ArtifactSet, resolve, spark_connectors
from caudal.settings import Settings
from caudal.streaming.java import find_java_home

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

POOLS = Path(__file__).with_name("pools.xml")
"""Fair-scheduler pools a query may name (``QuerySpec.pool``); one that names none is FIFO."""


def _prepare_environment() -> None:
    """Spark's Python workers must run this interpreter and connect back over loopback."""
    os.environ.setdefault("JAVA_HOME", str(find_java_home()))
    os.environ["PYSPARK_PYTHON"] = os.environ.get("PYSPARK_PYTHON", sys.executable)
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")


def connector_artifacts() -> ArtifactSet:
    """Spark's Kafka, Avro and Delta connectors for the installed pyspark."""
    import pyspark

    return spark_connectors(pyspark.__version__, Path(pyspark.__file__).parent / "jars")


def spark_session(settings: Settings, app_name: str = "caudal") -> SparkSession:
    """Build (or return the running) session with the Kafka, Avro and Delta connectors."""
    _prepare_environment()
    from pyspark.sql import SparkSession

    # a cluster that brings its own jars (spark-submit --packages) says so with spark.jars
    given = "spark.jars" in settings.spark_conf
    jars = [] if given else resolve(connector_artifacts(), settings)
    settings.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    builder = (
        SparkSession.builder.master(settings.spark_master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.streaming.checkpointLocation", str(settings.checkpoint_dir.resolve()))
        .config("spark.driver.host", os.environ["SPARK_LOCAL_IP"])
        .config("spark.python.worker.reuse", "true")
        .config("spark.scheduler.mode", "FAIR")
        .config("spark.scheduler.allocation.file", str(POOLS))
        .config("spark.sql.warehouse.dir", str((settings.data_dir / "warehouse").resolve()))
        .config("spark.jars", ",".join(str(j) for j in jars))  # CAUDAL_SPARK_CONF may override
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config(
            "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"
        )
    )
    for key, value in settings.spark_conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.spark_log_level)
    return spark
