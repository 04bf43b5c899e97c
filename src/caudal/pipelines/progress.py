"""The live table shown while a pipeline runs, and the summary at the end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from caudal.pipelines.feeder import FeedCounters


@dataclass
class QueryStats:
    name: str
    batch: int
    input_rate: float
    process_rate: float
    batch_ms: int
    lag: int
    rows_written: int
    rows_by: dict[str, int] = field(default_factory=dict)
    """Rows per output of the query's sink (e.g. per routed topic), shown as sub-rows."""
    state_rows: int = 0
    """Rows held in the query's state stores (joins, windows, per-key state)."""
    last_progress: str = ""
    """When Spark last reported progress for the query (ISO time; empty before the first)."""
    state: str = "running"
    """``running``, or ``waiting`` before a query with ``starts_when`` has started."""


class ProgressView:
    """A ``rich`` live display; on a non-terminal it prints a line every few updates instead."""

    def __init__(self, pipeline: str, notes: list[str], console: Console | None = None) -> None:
        self.pipeline = pipeline
        self.notes = notes
        self.console = console or Console(stderr=True)
        self._live = Live(console=self.console, refresh_per_second=4, transient=False)
        self._ticks = 0
        self._samples: dict[str, list[tuple[float, int]]] = {}
        self._last: Group | None = None

    def __enter__(self) -> ProgressView:
        if self.console.is_terminal:
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.console.is_terminal:
            self._live.stop()

    def broker_down(self, reason: str) -> None:
        """Shown while the broker does not answer; cleared by the next ``update``."""
        line = Text(f"waiting for the broker: {reason}", style="red")
        if self.console.is_terminal:
            self._live.update(Group(line, self._last or Text("")))
        elif self._ticks % 10 == 0:
            self.console.print(line)
        self._ticks += 1

    def update(self, feeds: dict[str, FeedCounters], queries: list[QueryStats]) -> None:
        view = self._last = self.render(feeds, queries)
        if self.console.is_terminal:
            self._live.update(view)
        elif self._ticks % 10 == 0:
            self.console.print(view)
        self._ticks += 1

    def render(self, feeds: dict[str, FeedCounters], queries: list[QueryStats]) -> Group:
        table = Table(title=f"caudal · {self.pipeline}", title_justify="left")
        for col in (
            "stage",
            "state",
            "batch",
            "in rec/s",
            "done rec/s",
            "batch ms",
            "lag",
            "rows written",
        ):
            left = col in ("stage", "state")
            table.add_column(col, justify="left" if left else "right", no_wrap=col == "stage")
        for name, c in feeds.items():
            table.add_row(
                f"feed {name}",
                "failed" if c.error else "done" if c.done else "producing",
                "",
                "",
                "",
                "",
                "",
                _feed_summary(c),
            )
        for q in queries:
            table.add_row(
                q.name,
                q.state,
                str(q.batch),
                f"{q.input_rate:,.0f}",
                f"{q.process_rate:,.0f}",
                f"{q.batch_ms:,}",
                f"{q.lag:,}",
                f"{q.rows_written:,}",
            )
            outputs = sorted(q.rows_by)
            for output, short in zip(outputs, _short_names(outputs), strict=True):
                rows = q.rows_by[output]
                rate = self._rate(output, rows)
                table.add_row(f"  → {short}", "", "", "", f"{rate:,.0f}", "", "", f"{rows:,}")
        notes = [Text(f"note: {n}", style="yellow") for n in self.notes]
        return Group(*notes, table)

    def _rate(self, key: str, count: int, window_s: float = 5.0) -> float:
        """Rows/s of one output over the last few seconds (its count grows batch by batch)."""
        now = time.monotonic()
        samples = [(t, n) for t, n in self._samples.get(key, []) if now - t <= window_s]
        samples.append((now, count))
        self._samples[key] = samples
        elapsed = now - samples[0][0]
        return (count - samples[0][1]) / elapsed if elapsed > 0 else 0.0


def _short_names(names: list[str]) -> list[str]:
    """Names without their shared dotted prefix (topic prefix, pipeline name), so per-output
    rows stay readable in 80 columns: ``sanitarios``, ``area.bomberos``, ``dlq``."""
    if len(names) < 2:
        return [n.rsplit(".", 1)[-1] for n in names]
    parts = [n.split(".") for n in names]
    shared = 0
    while all(len(p) > shared + 1 and p[shared] == parts[0][shared] for p in parts):
        shared += 1
    return [".".join(p[shared:]) for p in parts]


def _feed_summary(c: FeedCounters) -> str:
    parts = [f"{c.sources_read:,} read"] if c.sources_read else []
    parts.append(f"{c.produced:,} produced")
    if c.rejected:
        parts.append(f"[red]{c.rejected:,} rejected[/]")
    return ", ".join(parts)
