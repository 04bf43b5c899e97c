"""The ``predictions`` table: one row per request, classified or with the reason it was not.

Runs on the driver (the job's start) and in the page's process. ``prepare_table`` brings a
table written by an older Caudal to this schema before anything reads or writes it: the
Fashion-MNIST era kept the three best classes in ``top_k``; that column is renamed ``top5``
(its rows keep their model's name, so they stay readable as what they were) and the fruit
columns are added. A table of that name that is not a predictions table is refused, never
altered.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from caudal.errors import CaudalError
from caudal.settings import Settings
from caudal.sinks.sql import database_url, ensure_table, make_engine

log = logging.getLogger(__name__)
metadata = sa.MetaData()

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True, comment="unique: exactly once"),
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("image_url", sa.Text),
    sa.Column("status", sa.String(16), nullable=False, comment="classified | error"),
    sa.Column("label", sa.String(128)),
    sa.Column("confidence", sa.Float),
    sa.Column("top5", sa.Text, comment='JSON [{"label": ..., "p": ...}, ...], best first'),
    sa.Column("fruit", sa.String(64), comment="the fruit it shows, null when none"),
    sa.Column("fruit_p", sa.Float),
    sa.Column("error", sa.Text),
    sa.Column("model_name", sa.String(128)),
    sa.Column("model_version", sa.String(32)),
    sa.Column("size", sa.BigInteger),
    sa.Column("sha256", sa.String(64)),
    sa.Column("received_at", sa.DateTime(timezone=True), comment="when the page got the file"),
    sa.Column("classified_at", sa.DateTime(timezone=True)),
)
REQUIRED = {"request_id", "session_id", "file_name", "status", "label", "error", "classified_at"}


def results_engine(settings: Settings) -> sa.Engine:
    """The results database, its table made or migrated first (the page or `images submit`
    may start before the job)."""
    engine = make_engine(database_url(settings))
    prepare_table(engine)
    return engine


def prepare_table(engine: sa.Engine) -> None:
    """Create the table, or migrate an older one in place; ``CaudalError`` for a foreign one."""
    inspector = sa.inspect(engine)
    if inspector.has_table(predictions.name):
        present = {c["name"] for c in inspector.get_columns(predictions.name)}
        missing = REQUIRED - present
        if missing:
            raise CaudalError(
                f"table {predictions.name} in {engine.url.render_as_string(hide_password=True)} "
                f"is not an images predictions table (no {', '.join(sorted(missing))})",
                "rename or drop that table, or point CAUDAL_DATABASE_URL at another database",
            )
        if "top_k" in present and "top5" not in present:
            _rename_top_k(engine)
    ensure_table(engine, predictions)


def _rename_top_k(engine: sa.Engine) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE {predictions.name} RENAME COLUMN top_k TO top5"))
    except sa.exc.DBAPIError:
        columns = {c["name"] for c in sa.inspect(engine).get_columns(predictions.name)}
        if "top5" not in columns:
            raise
        return  # the page and the job both start: the other one migrated it
    log.warning("table %s migrated from the old schema: top_k renamed top5", predictions.name)
