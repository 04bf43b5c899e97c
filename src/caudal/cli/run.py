"""``caudal run <pipeline>`` and ``caudal demo``: run a pipeline with live progress."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from caudal.cli.output import command, console, settings
from caudal.jars import KAFKA_BROKER, cached
from caudal.pipelines.base import Pipeline
from caudal.pipelines.runner import RunSummary, run_pipeline
from caudal.streaming.session import connector_artifacts

app = typer.Typer(
    help="Run a pipeline end to end (starts the embedded broker if none runs).",
    no_args_is_help=True,
)


def execute(pipeline: Pipeline, once: bool) -> RunSummary:
    """Run with the live display; Ctrl-C stops cleanly and still prints the summary."""
    console.print(f"[bold]{pipeline.name}[/]: {pipeline.description}")
    cfg = settings()
    needed = [connector_artifacts()] + ([] if cfg.kafka_bootstrap else [KAFKA_BROKER])
    if any(cached(artifacts, cfg) is None for artifacts in needed):
        console.print(
            f"[dim]first run: Kafka's and Spark's connector jars are fetched from "
            f"{cfg.maven_repo} into {cfg.jars_dir} (once, a minute or two)[/]"
        )
    try:
        summary = run_pipeline(pipeline, cfg, once=once)
    except KeyboardInterrupt:
        console.print("[yellow]stopped by user[/]")
        raise typer.Exit(130) from None
    console.print(_summary_table(summary))
    return summary


@app.command("sensors")
@command
def run_sensors(
    count: int = typer.Option(20_000, "--count", "-n", min=1, help="Readings to generate."),
    rate: float = typer.Option(5_000, "--rate", "-r", min=0, help="Readings/s; 0 = flat out."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="JSON-lines (.jsonl), CSV or .parquet output."
    ),
    once: bool = typer.Option(
        True, "--once/--watch", help="Exit when every reading is written, or keep running."
    ),
    feed: bool = typer.Option(
        True, "--feed/--no-feed", help="Generate readings, or only process what the topic has."
    ),
    topic: str = typer.Option("sensors.readings", "--topic", help="Input topic."),
) -> None:
    """Simulated sensor readings → Kafka → Spark → a JSON-lines file."""
    from caudal.pipelines.sensors.pipeline import sensors_pipeline

    execute(sensors_pipeline(settings(), count, rate, output, feed, topic), once)


def _summary_table(summary: RunSummary) -> Table:
    table = Table("", "", title=f"{summary.pipeline}: summary", show_header=False)
    table.add_row("duration", f"{summary.seconds:.1f} s")
    table.add_row("records produced", f"{summary.produced:,}")
    for name, rows in summary.written.items():
        table.add_row(f"rows written ({name})", f"{rows:,}")
    if summary.startup_s is not None:
        # no records/s here: over a small input it is mostly start-up (60 alerts read as
        # "1 records/s"); the live table showed the queries' own rates
        table.add_row("start-up (broker, Spark, first batch)", f"{summary.startup_s:.1f} s")
    for out in summary.outputs:
        table.add_row("output", out)
    return table


@app.command("alerts")
@command
def run_alerts(
    input_dir: Path = typer.Option(
        ...,
        "--input",
        "-i",
        exists=True,
        file_okay=False,
        help="Folder of .avro alert files (searched recursively).",
    ),
    output: Path = typer.Option(
        Path("alerts.csv"),
        "--output",
        "-o",
        help="CSV file (one row per alert), or a .parquet folder.",
    ),
    once: bool = typer.Option(
        True,
        "--once/--watch",
        help="Exit when every alert is written, or keep watching the folder.",
    ),
) -> None:
    """ZTF alert files → Kafka (metadata + cutouts) → Spark join → CNN → CSV with flags."""
    from caudal.pipelines.alerts.pipeline import alerts_pipeline

    execute(alerts_pipeline(settings(), input_dir, output, watch=not once), once)
