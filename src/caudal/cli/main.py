"""The ``caudal`` entry point: every command group registered on one Typer app."""

from __future__ import annotations

from pathlib import Path

import typer

from caudal.cli import alerts, emergencies, export, images, lakehouse, run, stack, topics, ui
from caudal.cli import trades as trades_cli
from caudal.cli.output import command, console

app = typer.Typer(
    name="caudal",
    help=(
        "Real-time ML pipelines on Kafka and Spark Structured Streaming.\n\n"
        "Quick start: `caudal demo` (embedded broker, alert stream through Spark and a CNN, "
        "summary). "
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
app.add_typer(alerts.app, name="alerts")
app.add_typer(alerts.train_app, name="train")
run.app.command("images")(images.run_images)
app.add_typer(images.app, name="images")
app.command()(ui.ui)
run.app.command("emergencies")(emergencies.run_emergencies)
app.add_typer(emergencies.app, name="emergencies")
app.command()(export.export)
run.app.command("lakehouse")(lakehouse.run_lakehouse)
app.add_typer(lakehouse.app, name="lakehouse")
app.command("registry")(lakehouse.serve_registry)
run.app.command("trades")(trades_cli.run_trades)
app.add_typer(trades_cli.app, name="trades")


@app.command()
@command
def demo(
    output: Path = typer.Option(
        Path(".caudal/demo/alerts.csv"), "--output", "-o", help="Where the classified alerts go."
    ),
) -> None:
    """The end-to-end demo: the alerts pipeline on the shipped simulated ZTF alerts.

    Starts the embedded broker, streams the alert files through Kafka and Spark into the
    stamp classifier, shows live progress, then compares the classes with the true ones.
    """
    from caudal.pipelines.alerts.demo import SAMPLES, class_report

    run.run_alerts(input_dir=SAMPLES, output=output, once=True)
    console.print(class_report(output, SAMPLES / "labels.csv"))


if __name__ == "__main__":
    app()
