"""``caudal topics list | create | describe | tail | delete``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from rich.table import Table

from caudal.broker.admin import TopicAdmin
from caudal.broker.tail import tail as tail_records
from caudal.cli.output import broker, command, console, settings
from caudal.streaming.serde import DecodeError, decode_value

app = typer.Typer(
    help="List, create, describe, tail and delete Kafka topics.", no_args_is_help=True
)


@contextmanager
def _admin() -> Iterator[TopicAdmin]:
    cfg = settings()
    with broker(cfg) as bootstrap:
        admin = TopicAdmin(cfg, bootstrap)
        try:
            yield admin
        finally:
            admin.close()


@app.command("list")
@command
def list_() -> None:
    """Topic names and partition counts."""
    with _admin() as admin:
        table = Table("topic", "partitions")
        for name, parts in admin.topics().items():
            table.add_row(name, str(parts))
        console.print(table)


@app.command()
@command
def create(
    name: str,
    partitions: int = typer.Option(1, "--partitions", "-p", min=1, help="Partition count."),
    exist_ok: bool = typer.Option(False, "--exist-ok", help="Succeed if it already exists."),
) -> None:
    """Create a topic."""
    with _admin() as admin:
        created = admin.create(name, partitions, exist_ok=exist_ok)
    console.print(
        f"topic [bold]{name}[/] "
        + ("created" if created else "already exists")
        + f" ({partitions} partition{'s' if partitions > 1 else ''})"
    )


@app.command()
@command
def describe(name: str) -> None:
    """Partitions, leaders, first and end offsets of a topic."""
    with _admin() as admin:
        table = Table("partition", "leader", "start", "end", "offsets", title=name)
        for p in admin.partitions(name):
            table.add_row(
                str(p.partition), str(p.leader), f"{p.start:,}", f"{p.end:,}", f"{p.offsets:,}"
            )
        console.print(table)


@app.command()
@command
def tail(
    name: str,
    n: int = typer.Option(10, "--n", "-n", min=1, help="How many of the newest records."),
) -> None:
    """Pretty-print the newest records, decoding Avro (registry or embedded schema) or JSON."""
    cfg = settings()
    with _admin() as admin:
        records = tail_records(cfg, admin, name, n)
    if not records:
        console.print(f"topic {name} is empty")
    for r in records:
        when = datetime.fromtimestamp(r.timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")
        console.rule(f"{name}[{r.partition}] @ {r.offset}  {when}  key={_show(r.key)}")
        try:
            value = decode_value(r.value, cfg.schema_registry_url)
        except DecodeError as exc:
            value = f"<undecodable: {exc.reason}>"
        console.print_json(json.dumps(value, default=str)) if isinstance(
            value, dict | list
        ) else console.print(value, highlight=False)


@app.command()
@command
def delete(name: str, yes: bool = typer.Option(False, "--yes", help="Do not ask.")) -> None:
    """Delete a topic and its records."""
    if not yes:
        typer.confirm(f"delete topic {name} and all its records?", abort=True)
    with _admin() as admin:
        admin.delete(name)
    console.print(f"topic {name} deleted")


def _show(key: bytes | None) -> str:
    if key is None:
        return "∅"
    try:
        return key.decode()
    except UnicodeDecodeError:
        return key.hex()
