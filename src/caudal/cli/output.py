"""Shared console helpers so every command prints errors and tables the same way."""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from caudal.errors import CaudalError
from caudal.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


RESOURCE_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}
"""A folder that cannot be written or a full disk: the user's to fix, not a traceback."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a ``CaudalError`` into one red line, a hint, and exit code 1."""
    try:
        yield
    except CaudalError as exc:
        _print_error(exc)
        raise typer.Exit(1) from None
    except OSError as exc:
        if exc.errno not in RESOURCE_ERRORS:
            raise
        _print_error(
            CaudalError(
                f"cannot write {exc.filename or 'a file'}: {exc.strerror}",
                "free space there, or point CAUDAL_DATA_DIR at a writable folder with room; "
                "a rerun resumes from the checkpoints",
            )
        )
        raise typer.Exit(1) from None


def _print_error(exc: CaudalError) -> None:
    err_console.print(f"[bold red]error:[/] {exc.reason}", highlight=False)
    if exc.hint:
        err_console.print(f"[dim]next:[/] {exc.hint}", highlight=False)


def settings() -> Settings:
    with user_errors():
        try:
            return get_settings()
        except ValueError as exc:
            raise CaudalError(
                f"invalid settings: {exc}", "check CAUDAL_* variables and caudal.yaml"
            ) from exc


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: run a command body inside ``user_errors``."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with user_errors():
            return fn(*args, **kwargs)

    return wrapper


@contextmanager
def broker(cfg: Settings) -> Iterator[str]:
    """The broker's address for a command that needs one: the configured or running broker,
    else the embedded one started now and stopped when the command ends, as ``caudal run``."""
    from caudal.broker.embedded import broker_session, running_broker

    notes: list[str] = []
    if not cfg.kafka_bootstrap and running_broker(cfg) is None:
        err_console.print("[dim]starting the embedded broker for this command…[/]")
    with broker_session(cfg, notes) as bootstrap:
        for note in notes:
            err_console.print(f"[yellow]warning:[/] {note}", highlight=False)
        yield bootstrap


@contextmanager
def fraction_progress(first: str) -> Iterator[Callable[[str, float], None]]:
    """A progress bar for long work that reports (message, fraction done), e.g. training."""
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(first, total=1.0)

        def report(message: str, fraction: float) -> None:
            bar.update(task, description=message, completed=fraction)

        yield report
