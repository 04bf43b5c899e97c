"""A SQL table as a streaming sink: SQLite by default, PostgreSQL (or any SQLAlchemy URL).

Exactly once per row, not per batch: the table has a unique key and every insert is
``INSERT ... ON CONFLICT (key) DO NOTHING``, so a batch replayed after a crash, or a record
the producer sent twice, adds nothing. The batch log on top only saves the work of replaying.

A database that is down does not fail the query at once: the write is retried with backoff
for ``wait_s`` seconds while the micro-batch (and so the Kafka offsets) stands still; when the
database is back the batch is written and nothing is lost. Past ``wait_s`` the query fails
with one line and resumes from its checkpoint when rerun. Runs on the driver (the rows of a
micro-batch are collected there, inside ``foreachBatch``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError

from caudal.settings import Settings
from caudal.sinks.base import BatchResult, BatchSink, SinkContext
from caudal.sinks.batch_log import BatchLog
from caudal.sinks.exceptions import DatabaseUnavailable, SinkNotOpen

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)
CHUNK = 1000
T = TypeVar("T")


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


@dataclass(frozen=True)
class SqlBatchResult(BatchResult):
    duplicates: int = 0
    """Rows whose key the table already had (a replay, or a record sent twice)."""


class SqlWriter:
    """Inserts pandas frames into ``table`` once per ``key`` (driver); owns the engine.

    Used by ``SqlSink`` for micro-batches, and on its own where rows come without Spark.
    """

    def __init__(
        self,
        url: str,
        table: sa.Table,
        key: str,
        wait_s: float,
        prepare: Callable[[sa.Engine], None] | None = None,
    ) -> None:
        self.url, self.table, self.key, self.wait_s = url, table, key, wait_s
        self.prepare = prepare or (lambda engine: ensure_table(engine, table))
        """What opening runs on the engine, retried while the database is unreachable
        (default ``ensure_table``): a pipeline whose table needs more passes its migration."""
        self._engine: sa.Engine | None = None

    @property
    def location(self) -> str:
        """The table and its database, password hidden (for summaries and logs)."""
        url = sa.make_url(self.url).render_as_string(hide_password=True)
        return f"table {self.table.name} in {url}"

    def open(self) -> None:
        """Connect and prepare the table (create, widen or migrate it), waiting up to
        ``wait_s`` for the database."""
        engine = make_engine(self.url)
        self._retrying(lambda: self.prepare(engine))
        self._engine = engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def write(self, frame: pd.DataFrame) -> SqlBatchResult:
        """The frame's rows whose key is new; a database that is down is waited for."""
        engine = self._engine
        if engine is None:
            raise SinkNotOpen(f"{self.location} is not open", "call open() before writing")
        rows = records(frame[[c.name for c in self.table.columns if c.name in frame.columns]])

        def write() -> int:
            with engine.begin() as conn:
                return sum(
                    insert_new(conn, self.table, self.key, rows[i : i + CHUNK])
                    for i in range(0, len(rows), CHUNK)
                )

        inserted = self._retrying(write)
        return SqlBatchResult(inserted, duplicates=len(rows) - inserted)

    def _retrying(self, action: Callable[[], T]) -> T:
        """``action()``, retried while the database is unreachable, for up to ``wait_s``."""
        deadline = time.monotonic() + self.wait_s
        delay = 0.5
        while True:
            try:
                return action()
            except (OperationalError, DBAPIError) as exc:
                if not _connection_problem(exc) or time.monotonic() + delay > deadline:
                    raise DatabaseUnavailable(
                        f"database write failed: {_first_line(exc)}",
                        "check CAUDAL_DATABASE_URL and that the database is up; the query "
                        "resumes from its checkpoint when rerun",
                    ) from exc
                log.warning(
                    "database unreachable (%s); retrying in %.1f s", _first_line(exc), delay
                )
                time.sleep(delay)
                delay = min(delay * 2, 5.0)


class SqlSink(BatchSink):
    """Writes each micro-batch into ``table`` once per ``key``; the table is made (or widened)
    when the sink opens, so an unusable database fails before the query starts."""

    def __init__(self, name: str, writer: SqlWriter) -> None:
        super().__init__(name)
        self.writer = writer

    def open(self, ctx: SinkContext) -> None:
        super().open(ctx)
        self.writer.open()

    def close(self) -> None:
        self.writer.close()

    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> SqlBatchResult:
        return self.writer.write(df.toPandas())


def _connection_problem(exc: DBAPIError) -> bool:
    """Down, restarting, refusing connections, or a connection cut mid-statement."""
    return isinstance(exc, OperationalError) or bool(exc.connection_invalidated)


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
