"""The ``predictions`` table: one row per request, classified or with the reason it was not."""

from __future__ import annotations

import sqlalchemy as sa

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
    sa.Column("top_k", sa.Text, comment='JSON [{"label": ..., "p": ...}, ...]'),
    sa.Column("error", sa.Text),
    sa.Column("model_name", sa.String(128)),
    sa.Column("model_version", sa.String(32)),
    sa.Column("size", sa.BigInteger),
    sa.Column("sha256", sa.String(64)),
    sa.Column("received_at", sa.DateTime(timezone=True), comment="when the page got the file"),
    sa.Column("classified_at", sa.DateTime(timezone=True)),
)
