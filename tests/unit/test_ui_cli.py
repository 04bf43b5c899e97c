"""`caudal ui` before it hands over to Streamlit: its help and a port already taken."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from caudal.cli.main import app
from caudal.cli.ui import APP, streamlit_command


def test_help_says_what_the_ui_shows() -> None:
    result = CliRunner().invoke(app, ["ui", "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0
    for words in ("127.0.0.1", "stamps", "probabilities", "auto-refresh", "--port", "--output"):
        assert words in result.output


def test_a_port_in_use_is_one_line_and_exit_code_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["ui", "--port", str(port)])
    assert result.exit_code == 1
    assert f"port {port}" in result.output and "--port" in result.output


def test_streamlit_is_headless_local_only_and_gets_the_results_path(tmp_path: Path) -> None:
    command = streamlit_command(8765, tmp_path / "alerts.csv")
    assert APP.is_file() and command[command.index("run") + 1] == str(APP)
    local = {"--server.headless=true", "--server.address=127.0.0.1", "--server.port=8765"}
    assert local <= set(command)
    assert "--browser.gatherUsageStats=false" in command
    assert command[-2:] == ["--", str(tmp_path / "alerts.csv")]
