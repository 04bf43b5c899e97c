"""``caudal ui``: the Streamlit web UI, served on this machine only."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import typer

from caudal.cli.output import command, console
from caudal.errors import CaudalError
from caudal.ui.pages import CLUSTER_PAGE, pipeline_pages

HOST = "127.0.0.1"
APP = Path(__file__).resolve().parents[1] / "ui" / "app.py"


def _check_port_free(host: str, port: int) -> None:
    """Fail with one line now rather than inside Streamlit's start-up log."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = f"port {port} on {host}: {exc.strerror}"
            raise CaudalError(reason, "pick another: --port N") from exc


def streamlit_command(port: int, output: Path | None, host: str = HOST) -> list[str]:
    """``streamlit run`` on the app: headless, no usage stats, no file watcher; ``output``,
    when given, is the app's one argument."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless=true",
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=viewer",
        "--theme.base=light",
        *(["--", str(output)] if output is not None else []),
    ]


def help_text() -> str:
    """The command's help: what it serves, then what each page shows (from the registry)."""
    pages = "\n".join(f"- {p.title}: {p.summary}" for p in [CLUSTER_PAGE, *pipeline_pages()])
    return (
        "Web UI for pipeline results at http://127.0.0.1:PORT (this machine only, unless "
        "--host).\n\nOne page per pipeline, each following its run live (auto-refresh), and "
        f"the cluster's:\n\n{pages}\n\nCtrl-C stops the server."
    )


@command
def ui(
    port: int = typer.Option(8501, "--port", "-p", min=1, max=65535, help="Port to serve on."),
    host: str = typer.Option(
        HOST, "--host", help="Address to bind; 0.0.0.0 shows the pages (no login) to your network."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="A results file for the pages that open one (e.g. the CSV or .parquet folder of a "
        "`caudal run`); unset = each page's default.",
    ),
) -> None:
    _check_port_free(host, port)
    url = f"http://{host}:{port}"
    console.print(f"[bold]Caudal UI[/]: {url}", soft_wrap=True)
    if output is not None:
        console.print(f"results file: {output}", soft_wrap=True, highlight=False)
    console.print("Ctrl-C stops", highlight=False)
    sys.stdout.flush()
    os.execv(sys.executable, streamlit_command(port, output and output.resolve(), host))
