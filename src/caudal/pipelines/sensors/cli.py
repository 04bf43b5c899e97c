"""The sensors pipeline's one command: ``caudal run sensors``."""

from __future__ import annotations

from pathlib import Path

import typer

from caudal.cli.output import command, settings
from caudal.cli.pipeline_commands import PipelineCommands
from caudal.cli.run import execute


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


COMMANDS = PipelineCommands(run=run_sensors)
