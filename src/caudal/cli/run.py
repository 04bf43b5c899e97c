"""``caudal run``: the group every registered pipeline adds its run command to, and
``execute``, which each of those calls to run its pipeline with live progress."""

from __future__ import annotations

import typer
from rich.table import Table

from caudal.cli.output import console, settings
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


def _summary_table(summary: RunSummary) -> Table:
    table = Table("", "", title=f"{summary.pipeline}: summary", show_header=False)
    table.add_row("duration", f"{summary.seconds:.1f} s")
    table.add_row("records produced", f"{summary.produced:,}")
    for name, rows in summary.written.items():
        table.add_row(f"rows written ({name})", f"{rows:,}")
    if summary.startup_s is not None:
        # no records/s here: over a small input it is mostly start-up (60 records read as
        # "1 records/s"); the live table showed the queries' own rates
        table.add_row("start-up (broker, Spark, first batch)", f"{summary.startup_s:.1f} s")
    for out in summary.outputs:
        table.add_row("output", out)
    return table
