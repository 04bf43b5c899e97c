"""``caudal up`` / ``down`` / ``status`` / ``config``: the embedded broker and the settings."""

from __future__ import annotations

import typer
from rich.table import Table

from caudal.broker.admin import TopicAdmin
from caudal.broker.embedded import (
    BrokerInfo,
    resolve_bootstrap,
    running_broker,
    start_broker,
    stop_broker,
)
from caudal.broker.process import ManagedProcess
from caudal.cli.output import command, console, settings


@command
def up() -> None:
    """Start the embedded Kafka broker (Tansu, or Apache Kafka KRaft when KAFKA_HOME is set)."""
    cfg = settings()
    if cfg.kafka_bootstrap:
        console.print(f"CAUDAL_KAFKA_BOOTSTRAP is set ({cfg.kafka_bootstrap}): nothing to start.")
        return
    with console.status("starting the embedded broker…"):
        info, warnings = start_broker(cfg)
    for w in warnings:
        console.print(f"[yellow]warning:[/] {w}")
    console.print(f"[green]broker up[/] {info.kind} at [bold]{info.bootstrap}[/] (pid {info.pid})")
    console.print(_storage_line(info))
    if info.notice:
        console.print(f"[yellow]note:[/] {info.notice}")
    console.print(f"log: {cfg.broker_dir / 'broker.log'}   stop it with `caudal down`")


@command
def down() -> None:
    """Stop the embedded broker and its store (in-memory topics are lost, s3 ones kept)."""
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
        stale = ManagedProcess(cfg.broker_dir, "broker").is_stale()
        console.print(
            "broker: [red]not running[/]"
            + (" (stale pid file)" if stale else "")
            + "   start it with `caudal up`"
        )
        raise typer.Exit(1)
    bootstrap = resolve_bootstrap(cfg)
    where = f"{info.kind}, pid {info.pid}" if info else "external"
    console.print(f"broker: [green]up[/] at [bold]{bootstrap}[/] ({where})")
    if info:
        console.print(_storage_line(info))
        if info.notice and info.storage != "memory":
            console.print(f"[yellow]warning:[/] {info.notice}")
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


def _storage_line(info: BrokerInfo) -> str:
    """Which storage mode runs and where its data lives, so nobody mistakes one for the other."""
    if info.storage == "memory":
        return "storage: memory (topics are lost when the broker stops; CAUDAL_BROKER_STORAGE=s3)"
    if info.storage == "s3":
        return f"storage: s3, durable (SeaweedFS, data in {info.data})"
    return f"storage: {info.storage}"


def _topics_table(admin: TopicAdmin) -> Table:
    table = Table("topic", "partition", "start", "end", "records", title="topics")
    for name in admin.topics():
        for p in admin.partitions(name):
            table.add_row(name, str(p.partition), f"{p.start:,}", f"{p.end:,}", f"{p.records:,}")
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
