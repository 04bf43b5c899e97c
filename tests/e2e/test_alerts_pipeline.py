"""Alert files → Kafka → Spark join → CNN → CSV: real ZTF samples, damaged files and records."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import fastavro
import numpy as np
import pandas as pd
import pytest
from confluent_kafka import Producer

from caudal.pipelines import names
from caudal.pipelines.alerts.feed import AlertTopics
from caudal.pipelines.alerts.pipeline import STATE_PARTITIONS, alerts_pipeline, rejects_path
from caudal.pipelines.alerts.records import encode
from caudal.pipelines.alerts.stamps import encode_stamp
from caudal.pipelines.runner import run_pipeline
from caudal.settings import Settings

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "ztf_samples"
ORPHAN_CANDID = 4242


def _rewrite(src: Path, dst: Path, change) -> int:  # type: ignore[no-untyped-def]
    """Copy an alert file with ``change`` applied to its alert; returns the candid."""
    with src.open("rb") as fh:
        reader = fastavro.reader(fh)
        schema, alert = reader.writer_schema, next(reader)
    change(alert)
    with dst.open("wb") as fh:
        fastavro.writer(fh, schema, [alert])
    return int(alert["candid"])


def _damaged_inputs(folder: Path) -> dict[str, int]:
    real = sorted(SAMPLES.glob("*.avro"))
    for f in real:
        shutil.copy(f, folder / f.name)
    bad = folder / "bad"
    bad.mkdir()
    (bad / "notes.avro").write_text("this is not avro")
    (bad / "empty.avro").write_bytes(b"")
    data = real[0].read_bytes()
    (bad / "truncated.avro").write_bytes(data[: len(data) // 3])
    with (bad / "foreign.avro").open("wb") as fh:
        fastavro.writer(
            fh,
            {"type": "record", "name": "Other", "fields": [{"name": "x", "type": "int"}]},
            [{"x": 1}, {"x": 2}],
        )

    def corrupt(alert: dict) -> None:
        alert["candid"] += 1
        alert["cutoutDifference"]["stampData"] = b"\x1f\x8b garbage"

    def missing(alert: dict) -> None:
        alert["candid"] += 2
        alert["cutoutTemplate"] = None

    def nan_filled(alert: dict) -> None:
        alert["candid"] += 3
        alert["cutoutScience"]["stampData"] = encode_stamp(np.full((63, 63), np.nan))

    return {
        name: _rewrite(real[1], bad / f"{name}.avro", fn)
        for name, fn in (("corrupt", corrupt), ("missing", missing), ("nan", nan_filled))
    }


def _orphan(bootstrap: str, topic: str) -> None:
    """A metadata half whose cutouts never arrive."""
    producer = Producer({"bootstrap.servers": bootstrap})
    record = {"objectId": "ZTF00orphan", "candid": ORPHAN_CANDID, "magpsf": 18.0}
    producer.produce(topic, encode("metadata", record), str(ORPHAN_CANDID).encode())
    producer.flush(10)


def _unreadable_halves(bootstrap: str, topics: AlertTopics) -> dict[int, str]:
    """Alerts one half of which cannot be decoded (as another producer might write them):
    candid → the reason its row must carry."""
    halves = {
        candid: {
            "metadata": encode("metadata", {"objectId": f"ZTF00bad{candid}", "candid": candid}),
            "cutouts": encode("cutouts", {"objectId": f"ZTF00bad{candid}", "candid": candid}),
        }
        for candid in (5001, 5002, 5003)
    }
    halves[5001]["metadata"] = b"not Avro at all"
    halves[5002]["cutouts"] = halves[5002]["metadata"]  # another schema's fingerprint
    halves[5003]["metadata"] = halves[5003]["metadata"][:12]  # the body cut short
    producer = Producer({"bootstrap.servers": bootstrap})
    for candid, values in halves.items():
        producer.produce(topics.metadata, values["metadata"], str(candid).encode())
        producer.produce(topics.cutouts, values["cutouts"], str(candid).encode())
    producer.flush(10)
    return {
        5001: "metadata record: not Avro single-object encoding",
        5002: "cutouts record: unknown Avro schema fingerprint",
        5003: "metadata record: damaged Avro record",
    }


@pytest.mark.slow
def test_real_and_damaged_alerts_each_written_once_with_flags(
    spark, bootstrap: str, admin, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    damaged = _damaged_inputs(inputs)
    settings = Settings(
        data_dir=tmp_path / "data",
        kafka_bootstrap=bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:6]}.",
    )
    topics = AlertTopics.named(settings.topic)
    admin.create(topics.metadata, 2, exist_ok=True)
    admin.create(topics.cutouts, 2, exist_ok=True)
    _orphan(bootstrap, topics.metadata)
    unreadable = _unreadable_halves(bootstrap, topics)
    out = tmp_path / "alerts.csv"
    session_partitions = spark.conf.get("spark.sql.shuffle.partitions")

    summary = run_pipeline(alerts_pipeline(settings, inputs, out, watch=False), settings, once=True)

    rows = pd.read_csv(out)
    real_candids = {int(p.stem.split("_")[-1]) for p in SAMPLES.glob("*.avro")}
    assert rows["candid"].is_unique
    assert set(rows["candid"]) == real_candids | set(damaged.values()) | {ORPHAN_CANDID} | set(
        unreadable
    )
    assert summary.written["classified"] == len(rows)
    by_candid = rows.set_index("candid")
    real = by_candid.loc[sorted(real_candids)]
    assert real["classified"].all() and real["cutouts_valid"].all()
    probs = real[[c for c in rows.columns if c.startswith("p_")]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    for name in ("corrupt", "missing", "nan"):
        row = by_candid.loc[damaged[name]]
        assert not row["classified"] and not row["cutouts_valid"] and isinstance(row["error"], str)
    assert "corrupt" in by_candid.loc[damaged["corrupt"], "error"]
    assert "template" in by_candid.loc[damaged["missing"], "error"]
    assert "NaN" in by_candid.loc[damaged["nan"], "error"]
    for candid, reason in unreadable.items():
        row = by_candid.loc[candid]
        assert row["has_metadata"] and row["has_cutouts"] and not row["classified"]
        assert reason in row["error"], row["error"]
    orphan = by_candid.loc[ORPHAN_CANDID]
    assert orphan["has_metadata"] and not orphan["has_cutouts"] and not orphan["classified"]

    rejects = [json.loads(line) for line in rejects_path(out).read_text().splitlines()]
    reasons = {Path(r["file"]).name: r["reason"] for r in rejects}
    assert set(reasons) == {"notes.avro", "empty.avro", "truncated.avro", "foreign.avro"}
    assert "not" in reasons["foreign.avro"] and "empty" in reasons["empty.avro"]
    # the join ran on the pipeline's state partitions; the shared session kept its own
    offsets = names.checkpoint(settings, "alerts", "classified") / "offsets" / "0"
    assert f'"spark.sql.shuffle.partitions":"{STATE_PARTITIONS}"' in offsets.read_text()
    assert spark.conf.get("spark.sql.shuffle.partitions") == session_partitions
