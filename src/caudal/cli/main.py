"""The ``caudal`` entry point: every command group registered on one Typer app."""

from __future__ import annotations

import typer

from caudal.cli import run, stack, topics
from caudal.cli.output import command

app = typer.Typer(
    name="caudal",
    help=(
        "Real-time ML pipelines on Kafka and Spark Structured Streaming.\n\n"
        "Quick start: `caudal demo` (starts an embedded broker, streams, prints a summary). "
        "Settings come from CAUDAL_* variables or caudal.yaml (`caudal config`)."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command()(stack.up)
app.command()(stack.down)
app.command()(stack.status)
app.command()(stack.config)
app.add_typer(topics.app, name="topics")
app.add_typer(run.app, name="run")


@app.command()
@command
def demo(
    count: int = typer.Option(20_000, "--count", "-n", min=1, help="Readings to generate."),
    rate: float = typer.Option(5_000, "--rate", "-r", min=0, help="Readings/s; 0 = flat out."),
) -> None:
    """The end-to-end demo: broker up, a live stream through Spark, a summary at the end."""
    run.run_demo(count=count, rate=rate, output=None, once=True, feed=True, topic="demo.readings")


if __name__ == "__main__":
    app()
