"""What the images page shows: a session's rows, latency and statistics (no Streamlit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from caudal.pipelines.images.table import predictions
from caudal.sinks.sql import SqlWriter
from caudal.ui import images_data as data

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _row(i: int, session: str, label: str | None, confidence: float | None) -> dict:
    return {
        "request_id": f"r{i}",
        "session_id": session,
        "file_name": f"f{i}.png",
        "image_url": None,
        "status": "classified" if label else "error",
        "label": label,
        "confidence": confidence,
        "top_k": '[{"label": "bag", "p": 0.9}]' if label else None,
        "error": None if label else "not an image",
        "received_at": T0,
        "classified_at": T0 + timedelta(seconds=i),
    }


def test_a_session_reads_back_with_latency_and_statistics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    rows = [_row(1, "s1", "bag", 0.9), _row(2, "s1", "bag", 0.7), _row(3, "s1", None, None)]
    rows.append(_row(4, "other", "coat", 0.5))
    writer = SqlWriter(url, predictions, "request_id", 1)
    writer.open()
    writer.write(pd.DataFrame(rows))
    frame = data.load_session(data.make_engine(url), "s1")
    assert list(frame["file_name"]) == ["f1.png", "f2.png", "f3.png"]
    assert list(frame["latency_s"]) == [1.0, 2.0, 3.0]
    stats = data.session_stats(frame)
    assert (stats.rows, stats.classified, stats.errors) == (3, 2, 1)
    assert abs(stats.mean_confidence - 0.8) < 1e-9 and stats.latency_p50_s == 2.0
    assert stats.per_class.to_dict("records") == [{"class": "bag", "images": 2}]
    view = data.table_view(frame)
    assert list(view["confidence"].round(6))[:2] == [90.0, 70.0]
    assert view["error"].tolist() == ["", "", "not an image"]


def test_no_table_yet_is_an_empty_session(tmp_path: Path) -> None:
    frame = data.load_session(data.make_engine(f"sqlite:///{tmp_path / 'new.sqlite'}"), "s1")
    assert frame.empty and "latency_s" in frame.columns
    assert data.session_stats(frame).mean_confidence is None
