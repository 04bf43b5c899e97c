"""The live progress table: per-output rows stay readable in a narrow terminal."""

from __future__ import annotations

import io

from rich.console import Console

from caudal.pipelines.feeder import FeedCounters
from caudal.pipelines.progress import ProgressView, QueryStats


def _render(width: int) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=False, record=True)
    view = ProgressView("emergencies", [], console)
    routes = {
        "p1.emergencias.sanitarios": 138,
        "p1.emergencias.area.bomberos": 23,
        "p1.emergencias.dlq": 5,
    }
    query = QueryStats("routes", 3, 950.0, 900.0, 1200, 0, sum(routes.values()), routes)
    console.print(view.render({"calls": FeedCounters(produced=166, done=True)}, [query]))
    return console.export_text()


def test_each_output_gets_a_row_named_without_the_shared_prefix_even_at_80_columns() -> None:
    text = _render(80)
    for short, rows in (("sanitarios", "138"), ("area.bomberos", "23"), ("dlq", "5")):
        line = next(line for line in text.splitlines() if f"→ {short}" in line)
        assert line.rstrip(" │").endswith(rows), line
    assert "p1.emergencias" not in text


def test_a_query_waiting_to_start_says_so() -> None:
    console = Console(file=io.StringIO(), width=120, force_terminal=False, record=True)
    view = ProgressView("lakehouse", [], console)
    waiting = QueryStats("lakehouse.silver_inventory", -1, 0.0, 0.0, 0, 0, 0, state="waiting")
    running = QueryStats("lakehouse.bronze_inventory", 2, 10.0, 10.0, 900, 0, 40)
    console.print(view.render({}, [waiting, running]))
    lines = console.export_text().splitlines()
    assert "waiting" in next(line for line in lines if "silver_inventory" in line)
    assert "running" in next(line for line in lines if "bronze_inventory" in line)
