"""The one SparkSession factory: local by default, any master by setting, Caudal sources ready."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from caudal.settings import Settings
from caudal.streaming.java import find_java_home

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _prepare_environment() -> None:
    """Spark's Python workers must run this interpreter and connect back over loopback."""
    os.environ.setdefault("JAVA_HOME", str(find_java_home()))
    os.environ["PYSPARK_PYTHON"] = os.environ.get("PYSPARK_PYTHON", sys.executable)
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")


def spark_session(settings: Settings, app_name: str = "caudal") -> SparkSession:
    """Build (or return the running) session and register Caudal's data sources on it."""
    _prepare_environment()
    from pyspark.sql import SparkSession

    from caudal.streaming.kafka.source import KafkaDataSource

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
        .config("spark.sql.warehouse.dir", str((settings.data_dir / "warehouse").resolve()))
    )
    for key, value in settings.spark_conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.spark_log_level)
    spark.dataSource.register(KafkaDataSource)
    return spark
