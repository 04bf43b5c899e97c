"""A session's rows read back from ``predictions``: what the page and ``caudal images submit``
show. Runs in their processes (never in Spark); reading does not create or change the table.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import sqlalchemy as sa

from caudal.pipelines.images.table import predictions

COLUMNS = [c.name for c in predictions.columns] + ["latency_s"]


def load_session(db: sa.Engine, session_id: str) -> pd.DataFrame:
    """Every row of one session, in the order they were classified; empty if none (yet)."""
    query = (
        sa.select(predictions)
        .where(predictions.c.session_id == session_id)
        .order_by(predictions.c.classified_at, predictions.c.file_name)
    )
    try:
        with db.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).mappings().all())
    except sa.exc.OperationalError as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return pd.DataFrame(columns=COLUMNS)
        raise
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame["latency_s"] = latency_s(frame)
    return frame


def latency_s(frame: pd.DataFrame) -> pd.Series:
    """Seconds from the page receiving a file to its row being classified (end to end)."""
    received = pd.to_datetime(frame["received_at"], utc=True, format="mixed")
    classified = pd.to_datetime(frame["classified_at"], utc=True, format="mixed")
    return (classified - received).dt.total_seconds()


def top5(value: object) -> list[dict[str, Any]]:
    """The ``top5`` column as a list of ``{"label", "p"}`` (empty for an error row)."""
    return json.loads(value) if isinstance(value, str) and value else []


def row_record(row: pd.Series) -> dict[str, Any]:
    """One row as ``caudal images submit --json`` prints it (without the file's path)."""
    fruit = row.get("fruit")
    latency = row.get("latency_s")
    return {
        "status": row["status"],
        "top5": top5(row.get("top5")),
        "fruit": fruit if isinstance(fruit, str) else None,
        "error": row["error"] if isinstance(row["error"], str) else None,
        "latency_s": round(float(latency), 3) if pd.notna(latency) else None,
        "request_id": row["request_id"],
    }
