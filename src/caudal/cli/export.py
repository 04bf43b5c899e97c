"""``caudal export TOPIC --out FILE.json|.jsonl``: a whole topic, decoded, as JSON."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from caudal.broker.admin import TopicAdmin
from caudal.broker.export import export_topic
from caudal.cli.output import broker, command, console, err_console, settings


@command
def export(
    topic: str = typer.Argument(..., help="Topic to export (see `caudal topics list`)."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="FILE.json (one JSON array) or FILE.jsonl (one record a line)."
    ),
    metadata: bool = typer.Option(
        False, "--metadata", help="Wrap each value with its partition, offset, timestamp, key."
    ),
) -> None:
    """Export every record of a topic as JSON, decoding Avro (registry or embedded schema),
    JSON or text values. The file is written whole or not at all."""
    cfg = settings()
    columns = (TextColumn(f"exporting {topic}"), BarColumn(), MofNCompleteColumn())
    with broker(cfg) as bootstrap:
        admin = TopicAdmin(cfg, bootstrap)
        try:
            with Progress(*columns, console=err_console, transient=True) as bar:
                task = bar.add_task("export", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                count = export_topic(cfg, admin, topic, out, metadata, progress)
        finally:
            admin.close()
    console.print(f"[green]exported[/] {count:,} records of {topic} to {out}")
