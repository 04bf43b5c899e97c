"""``caudal run emergencies`` and ``caudal emergencies check | routes``."""

from __future__ import annotations

import typer
from rich.table import Table

from caudal.cli.output import broker, command, console, settings
from caudal.cli.pipeline_commands import PipelineCommands
from caudal.cli.run import execute

app = typer.Typer(
    help="112 emergency calls: the routes in use, and the conservation check.",
    no_args_is_help=True,
)


@command
def run_emergencies(
    count: int = typer.Option(5_000, "--count", "-n", min=1, help="Calls to generate."),
    rate: float = typer.Option(500, "--rate", "-r", min=0, help="Calls/s; 0 = flat out."),
    once: bool = typer.Option(
        True, "--once/--watch", help="Exit when every call is routed, or keep running."
    ),
    feed: bool = typer.Option(
        True, "--feed/--no-feed", help="Generate calls, or only route what the input topic has."
    ),
    bad_fraction: float = typer.Option(
        0.01, "--bad-fraction", min=0, max=1, help="Share of broken calls (to exercise the DLQ)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Generator seed (same seed, same calls)."),
) -> None:
    """Generated 112 calls → emergencias.avisos → Spark SQL routes → route topics + DLQ.

    Routes: the CREATE STREAM statements of routes.sql (`caudal emergencies routes`).

    Urgent calls that need a doctor get the nearest hospital (address, km, ETA).

    Invalid input goes to emergencias.dlq with the reason; routing goes on.

    Afterwards: `caudal emergencies check` (conservation), `caudal export TOPIC --out F.json`.
    """
    from caudal.pipelines.emergencies.pipeline import emergencies_pipeline

    execute(emergencies_pipeline(settings(), count, rate, feed, bad_fraction, seed), once)


@app.command()
@command
def routes() -> None:
    """The route statements in use: stream, topic, line and SELECT."""
    from caudal.pipelines.emergencies.pipeline import load_routes, routes_file

    cfg = settings()
    table = Table("line", "stream", "topic", "select", title=str(routes_file(cfg)))
    for r in load_routes(cfg):
        table.add_row(str(r.line), r.name, r.topic, " ".join(r.select.split()))
    console.print(table)


@app.command()
@command
def check() -> None:
    """Prove conservation: every input call in exactly one route or the DLQ, no duplicates,
    nothing invented, medical calls = input fields + destination. Exit code 1 if not."""
    from caudal.pipelines.emergencies.conservation import run_check

    cfg = settings()
    with broker(cfg) as bootstrap:
        report = run_check(cfg, bootstrap)
    table = Table("topic", "records", title="emergencies: conservation")
    table.add_row("input", f"{report.inputs:,}")
    for topic, n in report.routed.items():
        table.add_row(topic, f"{n:,}")
    table.add_row("dead letters", f"{report.dead_letters:,}")
    table.add_row("enriched (medical)", f"{report.enriched:,}")
    console.print(table)
    if not report.ok:
        for problem in report.problems:
            console.print(f"[red]✗[/] {problem}", highlight=False)
        console.print(f"[bold red]FAILED[/]: {report.problem_count:,} problem(s)")
        raise typer.Exit(1)
    console.print("[bold green]OK[/]: every input call is in exactly one route or the DLQ")


COMMANDS = PipelineCommands(run=run_emergencies, group=app)
