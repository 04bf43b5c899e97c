"""``caudal ui``: the Streamlit web UI, served on this machine only."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import typer

from caudal.cli.output import command, console
from caudal.errors import CaudalError
from caudal.ui import DEMO_OUTPUT

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


def streamlit_command(port: int, output: Path, host: str = HOST) -> list[str]:
    """``streamlit run`` on the app: headless, no usage stats, no file watcher."""
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
        "--",
        str(output),
    ]


@command
def ui(
    port: int = typer.Option(8501, "--port", "-p", min=1, max=65535, help="Port to serve on."),
    host: str = typer.Option(
        HOST, "--host", help="Address to bind; 0.0.0.0 shows the pages (no login) to your network."
    ),
    output: Path = typer.Option(
        DEMO_OUTPUT,
        "--output",
        "-o",
        help="Results the alerts page opens (CSV or .parquet folder of `caudal run alerts`).",
    ),
) -> None:
    """Web UI for pipeline results at http://127.0.0.1:PORT (this machine only, unless --host).

    A Cluster page (brokers, topics, consumer groups with lag, running queries: what
    `caudal status` prints), and one page per pipeline, each following its run live
    (auto-refresh):
    - Alerts: alerts per class, a table filtered by class and flags, one alert's three
      stamps beside its class probabilities (results of `caudal run alerts` / `caudal demo`);
    - Images: classify one picture (upload or camera) at once, or a batch through
      `caudal run images`; table, image grid and statistics of a session;
    - Lakehouse: every bronze / silver / gold Delta table, its history, sample rows and
      quarantined rows by rule;
    - Emergencies: calls per route topic over time and on a map of Spain;
    - Trades: candles with VWAP, volume, forecast against actual, feed health.
    Ctrl-C stops the server.
    """
    _check_port_free(host, port)
    url = f"http://{host}:{port}"
    console.print(f"[bold]Caudal UI[/]: {url}", soft_wrap=True)
    console.print(f"alerts results: {output}  (Ctrl-C stops)", soft_wrap=True, highlight=False)
    sys.stdout.flush()
    os.execv(sys.executable, streamlit_command(port, output.resolve(), host))
