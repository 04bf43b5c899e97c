"""What the images page shows: a session's rows, latency, statistics, and one prediction drawn
as top-five bars with its fruit badge (no Streamlit)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from caudal.pipelines.images import page_data as data
from caudal.pipelines.images.results import load_session, row_record
from caudal.pipelines.images.table import predictions
from caudal.sinks.sql import SqlWriter, make_engine

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TOP5 = [("orange", 0.8), ("lemon", 0.1), ("fig", 0.05), ("banana", 0.03), ("cup", 0.02)]


def _row(i: int, session: str, label: str | None, confidence: float | None) -> dict:
    fruit = label == "orange"
    return {
        "request_id": f"r{i}",
        "session_id": session,
        "file_name": f"f{i}.png",
        "image_url": None,
        "status": "classified" if label else "error",
        "label": label,
        "confidence": confidence,
        "top5": json.dumps([{"label": lb, "p": p} for lb, p in TOP5]) if label else None,
        "fruit": "orange" if fruit else None,
        "fruit_p": 0.8 if fruit else None,
        "error": None if label else "not an image",
        "received_at": T0,
        "classified_at": T0 + timedelta(seconds=i),
    }


def test_a_session_reads_back_with_latency_and_statistics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    rows = [_row(1, "s1", "orange", 0.9), _row(2, "s1", "tabby", 0.7), _row(3, "s1", None, None)]
    rows.append(_row(4, "other", "orange", 0.5))
    writer = SqlWriter(url, predictions, "request_id", 1)
    writer.open()
    writer.write(pd.DataFrame(rows))
    frame = load_session(make_engine(url), "s1")
    assert list(frame["file_name"]) == ["f1.png", "f2.png", "f3.png"]
    assert list(frame["latency_s"]) == [1.0, 2.0, 3.0]
    stats = data.session_stats(frame)
    assert (stats.rows, stats.classified, stats.errors, stats.fruits) == (3, 2, 1, 1)
    assert abs(stats.mean_confidence - 0.8) < 1e-9 and stats.latency_p50_s == 2.0
    assert sorted(stats.per_class.itertuples(index=False)) == [("orange", 1), ("tabby", 1)]
    view = data.table_view(frame)
    assert list(view["confidence"].round(6))[:2] == [90.0, 70.0]
    assert view["fruit"].tolist() == ["orange", "", ""]
    assert view["error"].tolist() == ["", "", "not an image"]
    record = row_record(frame.iloc[0])
    assert record["top5"][0] == {"label": "orange", "p": 0.8} and len(record["top5"]) == 5
    assert (record["fruit"], record["error"], record["latency_s"]) == ("orange", None, 1.0)
    assert row_record(frame.iloc[2])["top5"] == [] and row_record(frame.iloc[2])["fruit"] is None


def test_no_table_yet_is_an_empty_session(tmp_path: Path) -> None:
    frame = load_session(make_engine(f"sqlite:///{tmp_path / 'new.sqlite'}"), "s1")
    assert frame.empty and "latency_s" in frame.columns
    assert data.session_stats(frame).mean_confidence is None


def test_a_prediction_is_drawn_as_five_bars_and_a_badge() -> None:
    drawn = data.prediction_html(TOP5, "orange", 0.8)
    assert drawn.count('class="caudal-bar"') == 5 and "fruit: orange 80%" in drawn
    assert drawn.index(">orange<") < drawn.index(">lemon<")  # most probable first
    assert "no fruit" in data.prediction_html(TOP5[1:], None, None)
    hostile = data.prediction_html([("<script>x</script>", 1.0)], None, None)
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile


def test_a_stored_row_is_drawn_like_a_fresh_prediction() -> None:
    row = pd.Series(_row(1, "s1", "orange", 0.8))
    assert data.row_html(row) == data.prediction_html(TOP5, "orange", 0.8)
