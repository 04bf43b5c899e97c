"""What ``caudal status`` prints and the UI's Cluster page shows, as titled tables of text.

Kafka's side comes from the admin API (``broker.cluster``); the running queries from what each
running pipeline publishes (``pipelines.run_status``: Spark's progress lives in the process
that runs the queries). One function makes the tables, so the terminal and the page agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from caudal.broker.cluster import ClusterLook
from caudal.pipelines.run_status import RunStatus


@dataclass(frozen=True)
class Section:
    title: str
    columns: list[str]
    rows: list[list[str]]
    empty: str
    """What to say instead of an empty table."""


def sections(look: ClusterLook, runs: list[RunStatus]) -> list[Section]:
    """Brokers, topics, consumer groups and running queries, in that order."""
    return [_brokers(look), _topics(look), _groups(look), _queries(runs)]


def _brokers(look: ClusterLook) -> Section:
    rows = [
        [str(b.id), f"{b.host}:{b.port}", "controller" if b.controller else ""]
        for b in look.brokers
    ]
    return Section("brokers", ["id", "address", "role"], rows, "no broker answered")


def _topics(look: ClusterLook) -> Section:
    rows = [
        [
            t.name,
            str(t.partitions),
            str(t.replication),
            str(t.min_in_sync),
            f"{t.end_offset:,}",
            f"{t.offsets:,}",
            "" if t.per_s is None else f"{t.per_s:,.1f}",
        ]
        for t in look.topics
    ]
    columns = ["topic", "partitions", "replication", "in sync", "end offset", "offsets", "rec/s"]
    return Section("topics", columns, rows, "no topics yet")


def _groups(look: ClusterLook) -> Section:
    rows = [
        [g.group, g.topic, str(g.partitions), f"{g.committed:,}", f"{g.lag:,}"] for g in look.groups
    ]
    columns = ["group", "topic", "partitions", "committed", "lag"]
    return Section("consumer groups", columns, rows, "no consumer group has committed offsets")


def _queries(runs: list[RunStatus]) -> Section:
    rows = [
        [
            q.name,
            str(q.batch),
            f"{q.input_rate:,.0f}",
            f"{q.process_rate:,.0f}",
            f"{q.batch_ms:,}",
            f"{q.state_rows:,}",
            f"{q.lag:,}",
            f"{q.rows_written:,}",
            _when(q.last_progress),
        ]
        for run in runs
        for q in run.queries
    ]
    columns = [
        "query",
        "batch",
        "in rec/s",
        "done rec/s",
        "batch ms",
        "state rows",
        "lag",
        "rows written",
        "last progress",
    ]
    return Section("running queries", columns, rows, "no pipeline is running (`caudal run …`)")


def _when(iso: str) -> str:
    """Spark's progress time (UTC, ISO) as seconds ago; empty before the first batch."""
    if not iso:
        return ""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return f"{(datetime.now(UTC) - at).total_seconds():,.0f} s ago"
