"""``caudal run lakehouse`` and ``caudal lakehouse ...``: data generators, datasets, tables."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from caudal.cli.output import broker, command, console, settings
from caudal.cli.pipeline_commands import PipelineCommands
from caudal.errors import CaudalError
from caudal.pipelines.base import QuerySpec

app = typer.Typer(
    help="FarmIA lakehouse: generate landing files and sales events, inspect datasets and tables.",
    no_args_is_help=True,
)
generate_app = typer.Typer(
    help="Realistic, coherent FarmIA data (product ids, sensor ids, regions shared).",
    no_args_is_help=True,
)
app.add_typer(generate_app, name="generate")


@command
def run_lakehouse(
    once: bool = typer.Option(
        True,
        "--once/--watch",
        help="Exit when every landing file and event present is in the tables, or keep "
        "watching for new ones.",
    ),
    dataset: list[str] = typer.Option(
        [], "--dataset", "-d", help="Only these datasets (repeatable); default all."
    ),
) -> None:
    """Landing files + Avro sales events → bronze / silver / gold Delta tables.

    Two streaming queries per dataset of the datasets file (CAUDAL_LAKEHOUSE_DATASETS, else
    ours): bronze_<dataset> appends bronze, silver_<dataset> reads it into silver and gold.

    Files are read from <lakehouse>/landing/<dataset>/, each exactly once.

    Rows failing a rule go to the quarantine table with the reason.

    Schema registry: CAUDAL_SCHEMA_REGISTRY_URL, else the embedded one (served during the run).
    """
    from caudal.cli.run import execute
    from caudal.pipelines.lakehouse.pipeline import lakehouse_pipeline
    from caudal.pipelines.lakehouse.spec import configured
    from caudal.registry.embedded import registry_url

    conf = settings()
    unknown = set(dataset) - set(configured(conf).datasets)
    if unknown:
        raise CaudalError(
            f"no dataset named {', '.join(sorted(unknown))}", "see `caudal lakehouse datasets`"
        )
    with registry_url(conf) as url:
        pipeline = lakehouse_pipeline(conf, url, dataset or None)
        execute(pipeline, once)
    _quarantine_note(pipeline.queries)


def _quarantine_note(queries: list[QuerySpec]) -> None:
    from caudal.pipelines.lakehouse.bronze_sink import BronzeSink
    from caudal.pipelines.lakehouse.silver_sink import SilverSink

    sinks = [q.sink for q in queries if isinstance(q.sink, BronzeSink | SilverSink)]
    rejected = sum(sink.quarantine.count for sink in sinks)
    if rejected:
        console.print(
            f"[yellow]{rejected:,} row(s) quarantined[/]: see the quarantine table "
            "(`caudal lakehouse tables`, or the Lakehouse page of `caudal ui`)"
        )


@generate_app.command("files")
@command
def generate_files(
    dataset: str = typer.Option(
        ..., "--dataset", "-d", help="inventory, shipments, weather or sensors."
    ),
    n: int = typer.Option(1000, "--n", "-n", min=1, help="Rows in all (weather: days back)."),
    files: int = typer.Option(1, "--files", "-f", min=1, help="Split over this many files."),
    seed: int | None = typer.Option(None, "--seed", help="Same seed, same rows (ids, values)."),
) -> None:
    """Write landing files (hidden name, renamed when complete) in the dataset's format."""
    from caudal.pipelines.lakehouse.generate import ROWS, generate_files
    from caudal.pipelines.lakehouse.layout import Layout
    from caudal.pipelines.lakehouse.spec import configured

    conf = settings()
    spec = configured(conf).datasets.get(dataset)
    if spec is None or spec.is_stream or dataset not in ROWS:
        raise CaudalError(
            f"no file dataset {dataset!r} to generate", f"use one of {', '.join(sorted(ROWS))}"
        )
    landing = Layout.of(conf).landing(str(spec.landing)).parent
    with console.status(f"writing {n:,} {dataset} rows…"):
        written = generate_files(landing, dataset, str(spec.format), n, files, seed)
    console.print(f"[green]wrote[/] {len(written)} {spec.format} file(s) under {written[0].parent}")


@generate_app.command("events")
@command
def generate_events(
    n: int = typer.Option(1000, "--n", "-n", min=1, help="How many sale events."),
    rate: float = typer.Option(0, "--rate", "-r", min=0, help="Events per second; 0 = flat out."),
    schema_version: int = typer.Option(
        1, "--schema-version", help="1, or 2 (adds an optional coupon: schema evolution)."
    ),
    schema: Path | None = typer.Option(
        None, "--schema", exists=True, dir_okay=False, help="Another .avsc to publish with."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Same seed, same events."),
) -> None:
    """Produce Avro sale events (Confluent wire format, schema registered) to the sales topic."""
    from caudal.broker.admin import TopicAdmin
    from caudal.broker.client import client_config
    from caudal.pipelines.lakehouse.publish import publish_sales, schema_file
    from caudal.pipelines.lakehouse.spec import configured
    from caudal.registry.embedded import registry_url

    conf = settings()
    sales = next((d for d in configured(conf).datasets.values() if d.is_stream), None)
    if sales is None:
        raise CaudalError(
            "the datasets file declares no topic dataset", "add one with source.topic"
        )
    avsc = schema or schema_file(schema_version)
    topic = conf.topic(str(sales.topic))
    with broker(conf) as bootstrap:
        admin = TopicAdmin(conf, bootstrap)
        try:
            admin.create(topic, 2, exist_ok=True)
        finally:
            admin.close()
        producing = console.status(f"producing {n:,} sale events to {topic}…")
        with registry_url(conf) as url, producing:
            sent = publish_sales(client_config(conf, bootstrap), url, topic, n, rate, avsc, seed)
    console.print(f"[green]produced[/] {sent:,} events to {topic} (schema {avsc.name})")


@app.command("datasets")
@command
def datasets() -> None:
    """Check the datasets file and list its datasets and gold tables."""
    from caudal.pipelines.lakehouse.spec import configured

    lake = configured(settings())
    table = Table("dataset", "source", "key", "event time", "columns", "expectations")
    for ds in lake.datasets.values():
        source = f"topic {ds.topic}" if ds.is_stream else f"landing/{ds.landing} ({ds.format})"
        table.add_row(
            ds.name,
            source,
            ", ".join(ds.primary_key),
            ds.event_time,
            str(len(ds.columns)),
            ", ".join(e.label for e in ds.expectations),
        )
    console.print(table)
    gold = Table("gold table", "inputs")
    for g in lake.gold.values():
        gold.add_row(g.name, ", ".join(g.inputs))
    console.print(gold)


@app.command("tables")
@command
def tables() -> None:
    """Every Delta table: rows, version, last commit, and quarantined rows by rule."""
    from caudal.pipelines.lakehouse.layout import Layout
    from caudal.pipelines.lakehouse.page_data import quarantine_by_rule, table_summaries

    layout = Layout.of(settings())
    summaries = table_summaries(layout)
    if summaries.empty:
        raise CaudalError(f"no Delta tables under {layout.root} yet", "run `caudal run lakehouse`")
    table = Table(*summaries.columns)
    for row in summaries.astype(str).itertuples(index=False):
        table.add_row(*row)
    console.print(table)
    rules = quarantine_by_rule(layout)
    if not rules.empty:
        by_rule = Table(*rules.columns, title="quarantine")
        for row in rules.astype(str).itertuples(index=False):
            by_rule.add_row(*row)
        console.print(by_rule)


COMMANDS = PipelineCommands(run=run_lakehouse, group=app)
