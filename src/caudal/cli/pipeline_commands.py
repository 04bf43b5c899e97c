"""What a pipeline adds to the ``caudal`` CLI, declared in its folder as ``COMMANDS``.

``cli/main.py`` wires the commands of every registered pipeline the same way, so a new
pipeline's commands need no edit here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

Command = Callable[..., Any]


@dataclass(frozen=True)
class PipelineCommands:
    """A pipeline's commands; each is a Typer command function (options as its parameters)."""

    run: Command
    """``caudal run <pipeline>``."""
    group: typer.Typer | None = None
    """``caudal <pipeline> ...``: its helpers (generators, checks, inspection)."""
    train: Command | None = None
    """``caudal train <pipeline>``: reproduce the pipeline's shipped model."""
    top_level: Mapping[str, Command] = field(default_factory=dict)
    """Commands directly under ``caudal`` (e.g. a pipeline's ``caudal demo``)."""


def model_file_option(default: Path) -> Any:
    """``--out/-o`` of a command that writes a shipped model (train, build): the ONNX file."""
    return typer.Option(
        default, "--out", "-o", help="ONNX file; the .json sidecar and .md card go beside it."
    )
