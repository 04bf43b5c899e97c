"""``caudal up`` / ``down`` / ``status`` / ``config``: the embedded broker and the settings."""

from __future__ import annotations

import typer
from rich.table import Table

from caudal.broker.admin import TopicAdmin
from caudal.broker.embedded import (
    node_processes,
    resolve_bootstrap,
    running_broker,
    start_broker,
    stop_broker,
)
from caudal.cli.output import command, console, settings


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
    """Broker, topics, partitions, end offsets and consumer-group lag."""
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
        console.print(_topics_table(admin))
        console.print(_lag_table(admin))
    finally:
        admin.close()


@command
def config() -> None:
    """Print the effective settings (environment + caudal.yaml), secrets masked."""
    table = Table("setting", "value", title="effective settings")
    for name, value in settings().masked().items():
        table.add_row(f"CAUDAL_{name.upper()}", "" if value is None else str(value))
    console.print(table)


def _topics_table(admin: TopicAdmin) -> Table:
    table = Table("topic", "partition", "start", "end", "offsets", title="topics")
    for name in admin.topics():
        for p in admin.partitions(name):
            table.add_row(name, str(p.partition), f"{p.start:,}", f"{p.end:,}", f"{p.offsets:,}")
    return table


def _lag_table(admin: TopicAdmin) -> Table:
    table = Table("group", "topic", "partition", "committed", "end", "lag", title="consumer groups")
    for row in admin.group_lags():
        table.add_row(
            row.group,
            row.topic,
            str(row.partition),
            f"{row.committed:,}",
            f"{row.end:,}",
            f"{row.lag:,}",
        )
    return table
