"""The alerts pipeline's commands: ``caudal run alerts``, ``caudal demo``, ``caudal alerts
simulate`` and ``caudal train alerts``."""

from __future__ import annotations

from pathlib import Path

import typer

from caudal.cli.output import command, console, fraction_progress, settings
from caudal.cli.pipeline_commands import PipelineCommands, model_file_option
from caudal.cli.run import execute
from caudal.pipelines.alerts.demo import DEMO_OUTPUT, SAMPLES, class_report

app = typer.Typer(help="Alert-stream helpers: simulated ZTF alerts.", no_args_is_help=True)


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


@command
def demo(
    output: Path = typer.Option(
        DEMO_OUTPUT, "--output", "-o", help="Where the classified alerts go."
    ),
) -> None:
    """The end-to-end demo: the alerts pipeline on the shipped simulated ZTF alerts.

    Starts the embedded broker, streams the alert files through Kafka and Spark into the
    stamp classifier, shows live progress, then compares the classes with the true ones.
    """
    run_alerts(input_dir=SAMPLES, output=output, once=True)
    console.print(class_report(output, SAMPLES / "labels.csv"))


@app.command()
@command
def simulate(
    n: int = typer.Option(100, "--n", "-n", min=1, help="How many alerts (classes balanced)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the .avro files."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same alerts)."),
    per_file: int = typer.Option(1, "--per-file", min=1, help="Alerts per Avro file."),
) -> None:
    """Write simulated alerts as ZTF-schema Avro files with gzip-FITS cutouts (+ labels.csv)."""
    from caudal.pipelines.alerts.model.simulate import write_alerts

    with console.status(f"simulating {n} alerts…"):
        files = write_alerts(out, n, seed, per_file)
    console.print(
        f"[green]wrote[/] {n} alerts in {len(files)} files under {out} "
        f"(true classes in {out / 'labels.csv'})"
    )


@command
def train_alerts(
    out: Path = model_file_option(Path("models/alerts_stamp_classifier.onnx")),
    seed: int = typer.Option(0, "--seed", help="Training seed (held-out set uses another)."),
    n_per_class: int = typer.Option(2000, "--n-per-class", min=50, help="Simulated per class."),
    epochs: int = typer.Option(10, "--epochs", min=1),
    samples: Path | None = typer.Option(
        None, "--samples", help="Real alerts to calibrate against and report on."
    ),
) -> None:
    """Train the alert stamp classifier on simulated alerts (needs the `train` extra: torch)."""
    from caudal.pipelines.alerts.model.train import train

    with fraction_progress("training") as progress:
        info = train(out, seed, n_per_class, epochs, progress, samples)
    console.print(
        f"[green]model written[/] {out}; held-out accuracy "
        f"{info['heldout']['accuracy']:.3f} (card: {out.with_suffix('.md')})"
    )


COMMANDS = PipelineCommands(run=run_alerts, group=app, train=train_alerts, top_level={"demo": demo})
