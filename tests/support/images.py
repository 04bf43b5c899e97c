"""Test support for the images pipeline: a database of a test's own on the shared cluster."""

from __future__ import annotations

import uuid

import sqlalchemy as sa


def fresh_database(postgres_url: str) -> str:
    """A new, empty database on the test cluster; its URL (the table starts from nothing)."""
    name = f"images_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"
