"""Where an alert's time goes: the alerts query's stages timed one by one, JVM and Python.

    .venv/bin/python benchmarks/alerts_stages.py [--alerts 3000] [--repeat 3]

The streaming benchmark (`alerts.py`) reports Spark's own split of a micro-batch, in which
``addBatch`` is most of the time and says nothing of what inside it costs. Here simulated
alerts (40-60 KB each with their cutouts, as in `alerts.py`) go through the pipeline's feed
without a broker (``AlertFileFeed.records``: a metadata and a cutouts record per alert, Avro
single-object encoded, then the flush marker), into a cached DataFrame of Kafka-like rows per
topic (key, value, timestamp; an alert's two halves share their time, as when produced).

First the Python share, in this process on the same alerts, best of ``--repeat``:

- ``classify_frame`` on the joined alerts as pandas (what the query's ``mapInPandas`` runs per
  Arrow batch: checks, stamp decode, normalisation, metadata features, the CNN);
- the stamps and features alone (``features.alert_inputs`` on the alerts read from their files);
- the CNN alone (onnxruntime on one thread, as in each Python worker) on those inputs.

Then each prefix of the query runs as a batch job to a ``noop`` sink, best of ``--repeat``:

1. read the cached rows of both topics (the floor: scheduling and scan);
2. + ``job.decoded`` on both (header checks and spark-avro's ``from_avro``, in the JVM);
3. + ``job.join_alerts``: the full outer join on candid, but as a batch join (sort-merge, over
   the query's ``state_partitions`` shuffle partitions). The stream-stream join's state store
   (four stores per partition, committed every batch) cannot be measured this way:
   `alerts.py` reports its share from Spark's operator metrics;
4. + an identity ``mapInPandas`` over the joined rows, cutouts included: the Arrow hand-off to
   the Python workers and back, with no work done there;
5. + the classification: ``job.build`` itself (its ``mapInPandas``), on the cached rows;
6. + the CSV sink instead of ``noop``: the pipeline's ``AppendFileSink.write`` of the batch
   (rows collected to the driver, deduplicated on candid, appended, fsync'd, committed).

Spark runs two Python workers at once (``local[2]``), so per alert stage 5 minus stage 4 can be
below the one-process figure of ``classify_frame``.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastavro
from harness import cached_records, noop, stage_options, stage_session, time_stages

from caudal.models.onnx_classifier import load_classifier, read_labels
from caudal.models.paths import model_path
from caudal.pipelines.alerts import job
from caudal.pipelines.alerts.classify import classify_frame
from caudal.pipelines.alerts.features import alert_inputs
from caudal.pipelines.alerts.model.simulate import write_alerts
from caudal.pipelines.alerts.pipeline import MODEL_FILE, alerts_pipeline
from caudal.pipelines.alerts.settings import AlertsSettings
from caudal.pipelines.base import JobContext, Pipeline
from caudal.pipelines.feeder import FeedCounters, Record
from caudal.settings import Settings
from caudal.sinks.base import SinkContext

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

KAFKA_ROWS = "key binary, value binary, timestamp timestamp, partition int, offset long"
"""The Kafka source's columns the alerts query reads."""


class CachedTopics(JobContext):
    """A query's context whose topics are cached DataFrames instead of Kafka."""

    def __init__(self, settings: Settings, topics: dict[str, DataFrame]) -> None:
        super().__init__(settings, bootstrap="", pipeline="alerts")
        self.topics = topics

    def read_topics(self, spark: SparkSession, topics: list[str], **options: str) -> DataFrame:
        (topic,) = topics
        return self.topics[topic]


def kafka_rows(pipeline: Pipeline) -> dict[str, list[tuple[Any, ...]]]:
    """The records of the pipeline's feed by topic, as ``KAFKA_ROWS``; one alert a ms."""
    rows: dict[str, list[tuple[Any, ...]]] = {t.name: [] for t in pipeline.topics}
    start_ms = time.time() * 1000
    for item in pipeline.feeders[0].records(threading.Event(), FeedCounters()):
        if isinstance(item, Record):
            topic = rows[item.topic]
            at = datetime.fromtimestamp((item.timestamp_ms or start_ms + len(topic)) / 1000, UTC)
            topic.append((item.key, item.value, at, len(topic) % 2, len(topic) // 2))
    return rows


def read_alerts(folder: Path) -> list[dict[str, Any]]:
    """The alerts of every Avro file in ``folder``, as fastavro reads them."""
    alerts: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.avro")):
        with path.open("rb") as fh:
            alerts.extend(fastavro.reader(fh))
    return alerts


def each(*jobs: Callable[[], object]) -> Callable[[], None]:
    """One stage made of several jobs, run one after the other."""

    def run() -> None:
        for one in jobs:
            one()

    return run


def unchanged(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Each Arrow batch back as it came (``mapInPandas``): the hand-off alone."""
    yield from batches


def python_stages(
    frame: pd.DataFrame, alerts: list[dict[str, Any]], settings: Settings
) -> list[tuple[str, Callable[[], object]]]:
    """The Python share's rows: ``classify_frame`` on ``frame``, its stamps and features, the
    model alone, with the model the pipeline loads."""
    model = model_path(AlertsSettings.of(settings).model, MODEL_FILE)
    classes = list(read_labels(model)["classes"])
    stamps, metadata, _ = alert_inputs(alerts)
    inputs = {"stamps": stamps, "metadata": metadata}
    model_alone = load_classifier(model)
    return [
        ("`classify_frame` on the joined alerts", lambda: classify_frame(frame, model, classes)),
        ("stamps and features alone (`alert_inputs`)", lambda: alert_inputs(alerts)),
        ("the CNN alone (onnxruntime, one thread)", lambda: model_alone.predict_proba(inputs)),
    ]


def main() -> None:
    args = stage_options(__doc__, "alerts", 3000)
    work = Path(tempfile.mkdtemp(prefix="bench-alerts-stages-"))
    write_alerts(work / "in", args.alerts, seed=7, per_file=50)
    settings = Settings(data_dir=work / "data", spark_master="local[2]")

    def pipeline(out: Path) -> Pipeline:
        return alerts_pipeline(settings, work / "in", out, watch=False)

    spark = stage_session("bench-alerts-stages")
    spec = pipeline(work / "alerts.csv")
    query = spec.queries[0]
    # the runner's shuffle partitions for this query
    spark.conf.set("spark.sql.shuffle.partitions", str(query.state_partitions))
    rows = kafka_rows(spec)
    topics = {name: cached_records(spark, records, KAFKA_ROWS) for name, records in rows.items()}
    metadata, cutouts = (topics[name] for name in query.inputs)
    meta = job.decoded(metadata, "metadata", "", "m_")
    cuts = job.decoded(cutouts, "cutouts", "c_", "c_")
    joined = job.join_alerts(metadata, cutouts)
    identity = joined.mapInPandas(unchanged, joined.schema)
    classified = query.build(spark, CachedTopics(settings, topics))
    python = python_stages(joined.toPandas(), read_alerts(work / "in"), settings)
    time_stages(
        "Alerts, the Python share", python, args.alerts, "alert", args.repeat, "one process"
    )
    batches = itertools.count()

    def csv_sink() -> None:
        out = work / "out" / str(next(batches))
        sink = pipeline(out / "alerts.csv").queries[0].sink
        sink.open(SinkContext(spark, out / "checkpoint"))
        sink.write(classified, 0)

    stages = [
        ("read the cached rows, both topics", each(noop(metadata), noop(cutouts))),
        ("+ `job.decoded`, both topics (`from_avro`)", each(noop(meta), noop(cuts))),
        ("+ the join on candid (`job.join_alerts`, batch)", noop(joined)),
        ("+ Arrow to Python and back (identity `mapInPandas`)", noop(identity)),
        ("+ classification (`job.build`: the query)", noop(classified)),
        ("+ the CSV sink's write instead of `noop`", csv_sink),
    ]
    time_stages(
        "Alerts query stages",
        stages,
        args.alerts,
        "alert",
        args.repeat,
        "batch jobs to `noop` (the last to the CSV sink)",
    )
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
