"""``caudal up`` / ``down`` / ``status`` / ``config``: the embedded broker and the settings."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from caudal.broker.admin import TopicAdmin
from caudal.broker.cluster import look, with_rates
from caudal.broker.embedded import (
    node_processes,
    resolve_bootstrap,
    running_broker,
    start_broker,
    stop_broker,
)
from caudal.cli.output import command, console, settings
from caudal.pipelines import run_status
from caudal.status import Section, sections

RATE_WINDOW_S = 1.0
"""Between the two looks whose end offsets give each topic's records/s."""


@command
def up(
    brokers: int = typer.Option(
        1,
        "--brokers",
        min=1,
        max=9,
        help="Nodes of the embedded KRaft cluster on loopback; with 3, pipeline topics get "
        "replication factor 3 and min.insync.replicas 2.",
    ),
) -> None:
    """Start the embedded Apache Kafka broker (KRaft), its log under the data dir.

    The first start fetches Kafka's jars from Maven Central into CAUDAL_JARS_DIR (once).
    Topics survive `caudal down` / `caudal up` and a kill -9.
    """
    cfg = settings()
    if cfg.kafka_bootstrap:
        console.print(f"CAUDAL_KAFKA_BOOTSTRAP is set ({cfg.kafka_bootstrap}): nothing to start.")
        return
    with console.status("starting the embedded broker (first start: fetching its jars)…"):
        info, warnings = start_broker(cfg, brokers)
    for w in warnings:
        console.print(f"[yellow]warning:[/] {w}")
    console.print(f"[green]broker up[/] at [bold]{info.bootstrap}[/] ({info.description})")
    console.print(f"data: {info.data}   logs: {cfg.broker_dir}/broker-*.log")
    console.print("stop it with `caudal down` (topics are kept)")


@command
def down() -> None:
    """Stop the embedded broker; its topics stay on disk for the next `caudal up`."""
    cfg = settings()
    if stop_broker(cfg):
        console.print("[green]broker stopped[/]")
    else:
        console.print("no embedded broker was running")


@command
def status() -> None:
    """Brokers, topics (partitions, replication, end offsets, records/s), consumer groups with
    lag, and the running pipelines' queries (rate, batch duration, state, last progress)."""
    cfg = settings()
    info = running_broker(cfg)
    if info is None and not cfg.kafka_bootstrap:
        stale = any(p.is_stale() for p in node_processes(cfg))
        console.print(
            "broker: [red]not running[/]"
            + (" (stale pid file)" if stale else "")
            + "   start it with `caudal up`"
        )
        raise typer.Exit(1)
    bootstrap = resolve_bootstrap(cfg)
    where = info.description if info else "external"
    console.print(f"broker: [green]up[/] at [bold]{bootstrap}[/] ({where})")
    if info:
        console.print(f"data: {info.data}")
    admin = TopicAdmin(cfg, bootstrap)
    try:
        first = look(admin)
        time.sleep(RATE_WINDOW_S)
        now = with_rates(first, look(admin))
    finally:
        admin.close()
    for section in sections(now, run_status.running(cfg)):
        console.print(_table(section))


@command
def config() -> None:
    """Print the effective settings (environment + caudal.yaml), secrets masked."""
    table = Table("setting", "value", title="effective settings")
    for name, value in settings().masked().items():
        table.add_row(f"CAUDAL_{name.upper()}", "" if value is None else str(value))
    console.print(table)


def _table(section: Section) -> Table | str:
    if not section.rows:
        return f"[bold]{section.title}[/]: [dim]{section.empty}[/]"
    table = Table(*section.columns, title=section.title)
    for row in section.rows:
        table.add_row(*row)
    return table
