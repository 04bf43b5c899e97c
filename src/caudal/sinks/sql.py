"""A SQL table as a streaming sink: SQLite by default, PostgreSQL (or any SQLAlchemy URL).

Exactly once per row, not per batch: the table has a unique key and every insert is
``INSERT ... ON CONFLICT (key) DO NOTHING``, so a batch replayed after a crash, or a record
the producer sent twice, adds nothing. The batch log on top only saves the work of replaying.

A database that is down does not fail the query at once: the write is retried with backoff
for ``wait_s`` seconds while the micro-batch (and so the Kafka offsets) stands still; when the
database is back the batch is written and nothing is lost. Past ``wait_s`` the query fails
with one line and resumes from its checkpoint when rerun.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError

from caudal.errors import CaudalError
from caudal.settings import Settings
from caudal.sinks.base import BatchSink
from caudal.sinks.batch_log import BatchLog

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)
CHUNK = 1000


def database_url(settings: Settings) -> str:
    """``CAUDAL_DATABASE_URL``, else a SQLite file under the data dir."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    path = (settings.data_dir / "caudal.db").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def make_engine(url: str) -> sa.Engine:
    """``pool_pre_ping`` so a connection broken by a database restart is replaced, not used."""
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_wal)
    return engine


def _sqlite_wal(dbapi_conn: Any, _record: Any) -> None:
    """WAL: the page reads while the job writes, without "database is locked"."""
    dbapi_conn.execute("PRAGMA journal_mode=WAL")
    dbapi_conn.execute("PRAGMA busy_timeout=10000")


def ensure_table(engine: sa.Engine, table: sa.Table) -> None:
    """Create the table (and indexes) if missing; add columns a newer schema has (nullable).

    The only migration an append-only result table needs; a column's type is never changed.
    """
    table.metadata.create_all(engine, tables=[table])
    present = {c["name"] for c in sa.inspect(engine).get_columns(table.name)}
    with engine.begin() as conn:
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(engine.dialect)
                conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))


def insert_new(conn: sa.Connection, table: sa.Table, key: str, rows: list[dict]) -> int:
    """Insert rows whose key is not in the table yet; returns how many were inserted."""
    if not rows:
        return 0
    dialect = conn.dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(table).on_conflict_do_nothing(index_elements=[key])
        return len(conn.execute(stmt.returning(table.c[key]), rows).all())
    wanted = [r[key] for r in rows]
    seen = set(conn.execute(sa.select(table.c[key]).where(table.c[key].in_(wanted))).scalars())
    fresh = [r for r in rows if r[key] not in seen]
    if fresh:
        conn.execute(table.insert(), fresh)
    return len(fresh)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as dicts with None for NaN/NaT (what a database driver wants)."""
    out = frame.astype(object).to_dict("records")
    for row in out:
        for name, value in row.items():
            if value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
                row[name] = None
            elif isinstance(value, pd.Timestamp):
                row[name] = value.to_pydatetime()
    return out


class SqlSink(BatchSink):
    """Writes each micro-batch into ``table`` once per ``key``; creates the table on first use.

    ``prepare`` (default: ``ensure_table``) is what first use runs on the engine, retried while
    the database is unreachable: a pipeline whose table needs more than added columns passes
    its own migration.
    """

    def __init__(
        self,
        name: str,
        url: str,
        table: sa.Table,
        key: str,
        wait_s: float,
        prepare: Callable[[sa.Engine], None] | None = None,
    ) -> None:
        super().__init__(name)
        self.url, self.table, self.key, self.wait_s = url, table, key, wait_s
        self.prepare = prepare or (lambda engine: ensure_table(engine, table))
        self._engine: sa.Engine | None = None
        self.duplicates_skipped = 0

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            engine = make_engine(self.url)
            self._retrying(lambda: self.prepare(engine))
            self._engine = engine
        return self._engine

    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> dict[str, Any]:
        return self.write_frame(df.toPandas())

    def write_frame(self, frame: pd.DataFrame) -> dict[str, Any]:
        rows = records(frame[[c.name for c in self.table.columns if c.name in frame.columns]])

        def write() -> int:
            with self.engine.begin() as conn:
                return sum(
                    insert_new(conn, self.table, self.key, rows[i : i + CHUNK])
                    for i in range(0, len(rows), CHUNK)
                )

        inserted = self._retrying(write)
        self.duplicates_skipped += len(rows) - inserted
        return {"rows": inserted, "duplicates": len(rows) - inserted}

    def _retrying(self, action: Any) -> Any:
        """``action()``, retried while the database is unreachable, for up to ``wait_s``."""
        deadline = time.monotonic() + self.wait_s
        delay = 0.5
        while True:
            try:
                return action()
            except (OperationalError, DBAPIError) as exc:
                if not _connection_problem(exc) or time.monotonic() + delay > deadline:
                    raise CaudalError(
                        f"database write failed: {_first_line(exc)}",
                        "check CAUDAL_DATABASE_URL and that the database is up; the query "
                        "resumes from its checkpoint when rerun",
                    ) from exc
                log.warning(
                    "database unreachable (%s); retrying in %.1f s", _first_line(exc), delay
                )
                time.sleep(delay)
                delay = min(delay * 2, 5.0)


def _connection_problem(exc: DBAPIError) -> bool:
    """Down, restarting, refusing connections, or a connection cut mid-statement."""
    return isinstance(exc, OperationalError) or bool(exc.connection_invalidated)


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
