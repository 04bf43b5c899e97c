"""The ``caudal`` entry point: the platform's commands, then every registered pipeline's.

Each pipeline declares its commands in its folder (``COMMANDS``, a ``PipelineCommands``);
they are wired here the same way for all, so this file names no pipeline.
"""

from __future__ import annotations

import importlib

import typer

from caudal.cli import export, registry, run, stack, topics, ui
from caudal.cli.pipeline_commands import PipelineCommands
from caudal.pipelines.registry import pipelines

app = typer.Typer(
    name="caudal",
    help=(
        "Real-time ML pipelines on Kafka and Spark Structured Streaming.\n\n"
        "Quick start: `caudal demo` (embedded broker, a stream through Spark and a model, "
        "summary); `caudal run --help` lists the pipelines. "
        "Settings come from CAUDAL_* variables or caudal.yaml (`caudal config`)."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
train_app = typer.Typer(
    help="Reproduce a shipped model from its training command.", no_args_is_help=True
)
app.command()(stack.up)
app.command()(stack.down)
app.command()(stack.status)
app.command()(stack.config)
app.command(help=ui.help_text())(ui.ui)
app.command()(export.export)
app.command("registry")(registry.serve_registry)
app.add_typer(topics.app, name="topics")
app.add_typer(run.app, name="run")
app.add_typer(train_app, name="train")


def add_pipeline(name: str, commands: PipelineCommands) -> None:
    """``caudal run <name>``, ``caudal <name> ...``, ``caudal train <name>`` and the rest."""
    run.app.command(name)(commands.run)
    if commands.group is not None:
        app.add_typer(commands.group, name=name)
    if commands.train is not None:
        train_app.command(name)(commands.train)
    for command_name, command in commands.top_level.items():
        app.command(command_name)(command)


for definition in pipelines():
    add_pipeline(definition.name, importlib.import_module(definition.commands).COMMANDS)


if __name__ == "__main__":
    app()
