"""`caudal alerts simulate` and `caudal train alerts`: the alerts data and model."""

from __future__ import annotations

from pathlib import Path

import typer

from caudal.cli.output import command, console, fraction_progress

app = typer.Typer(help="Alert-stream helpers: simulated ZTF alerts.", no_args_is_help=True)
train_app = typer.Typer(
    help="Reproduce a shipped model from its training command.", no_args_is_help=True
)


@app.command()
@command
def simulate(
    n: int = typer.Option(100, "--n", "-n", min=1, help="How many alerts (classes balanced)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the .avro files."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same alerts)."),
    per_file: int = typer.Option(1, "--per-file", min=1, help="Alerts per Avro file."),
) -> None:
    """Write simulated alerts as ZTF-schema Avro files with gzip-FITS cutouts (+ labels.csv)."""
    from caudal.pipelines.alerts.simulate import write_alerts

    with console.status(f"simulating {n} alerts…"):
        files = write_alerts(out, n, seed, per_file)
    console.print(
        f"[green]wrote[/] {n} alerts in {len(files)} files under {out} "
        f"(true classes in {out / 'labels.csv'})"
    )


@train_app.command("alerts")
@command
def train_alerts(
    out: Path = typer.Option(
        Path("models/alerts_stamp_classifier.onnx"),
        "--out",
        "-o",
        help="ONNX file; the .json sidecar and .md card go beside it.",
    ),
    seed: int = typer.Option(0, "--seed", help="Training seed (held-out set uses another)."),
    n_per_class: int = typer.Option(2000, "--n-per-class", min=50, help="Simulated per class."),
    epochs: int = typer.Option(10, "--epochs", min=1),
    samples: Path | None = typer.Option(
        None, "--samples", help="Real alerts to calibrate against and report on."
    ),
) -> None:
    """Train the alert stamp classifier on simulated alerts (needs the `train` extra: torch)."""
    from caudal.pipelines.alerts.train import train

    with fraction_progress("training") as progress:
        info = train(out, seed, n_per_class, epochs, progress, samples)
    console.print(
        f"[green]model written[/] {out}; held-out accuracy "
        f"{info['heldout']['accuracy']:.3f} (card: {out.with_suffix('.md')})"
    )
