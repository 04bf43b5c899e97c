"""Real ZTF alert files with random byte flips and truncations, through the real alerts job.

Each example copies the real alerts (each under a candid of its own), damages most copies
(``fuzzing.damaged``) and runs the pipeline once over the folder. Every file must then be
either in the rejects file with a reason, or have every alert ``fastavro`` reads from it in the
CSV; the CSV holds each candid once and nothing that no file holds.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import fastavro
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from caudal.pipelines.alerts.pipeline import alerts_pipeline, rejects_path
from caudal.pipelines.runner import run_pipeline
from caudal.settings import Settings
from tests.support.fuzzing import Tally, batches, damaged

SAMPLES = sorted(
    (Path(__file__).resolve().parents[3] / "shared" / "data" / "ztf_samples").glob("*.avro")
)


def _renumbered(path: Path, candid: int) -> bytes:
    """The real alert file with its alert under ``candid`` (so copies do not collide)."""
    with path.open("rb") as fh:
        reader = fastavro.reader(fh)
        schema, alerts = reader.writer_schema, list(reader)
    for alert in alerts:
        alert["candid"] = candid  # type: ignore[index]
    out = io.BytesIO()
    fastavro.writer(out, schema, alerts)
    return out.getvalue()


@st.composite
def alert_files(draw: st.DrawFn) -> list[bytes]:
    """Every real alert two or three times, each copy damaged or (sometimes) intact."""
    base = draw(st.integers(10**15, 2 * 10**15))
    files = []
    for i in range(draw(st.integers(2, 3)) * len(SAMPLES)):
        files.append(draw(damaged(_renumbered(SAMPLES[i % len(SAMPLES)], base + i))))
    return files


def _read(data: bytes) -> tuple[set[int], bool]:
    """The candids ``fastavro`` reads from a file, and whether it read the file whole."""
    candids: set[int] = set()
    try:
        for alert in fastavro.reader(io.BytesIO(data)):
            candids.add(int(alert["candid"]))  # type: ignore[index,call-overload]
    except Exception:  # noqa: BLE001 - any failure: the pipeline must reject the file
        return candids, False
    return candids, True


def _run(settings: Settings, folder: Path, files: list[bytes]) -> tuple[pd.DataFrame, dict]:
    run = uuid.uuid4().hex[:6]
    here = settings.model_copy(
        update={"topic_prefix": f"az{run}.", "data_dir": settings.data_dir / f"alerts-fuzz-{run}"}
    )
    inputs, out = folder / run, folder / f"{run}.csv"
    inputs.mkdir()
    for i, data in enumerate(files):
        (inputs / f"alert-{i:03d}.avro").write_bytes(data)
    run_pipeline(alerts_pipeline(here, inputs, out, watch=False), here, once=True)
    rows = pd.read_csv(out) if out.exists() else pd.DataFrame({"candid": []})
    rejects_file = rejects_path(out)
    lines = rejects_file.read_text().splitlines() if rejects_file.exists() else []
    rejects = {Path(r["file"]).name: r["reason"] for r in map(json.loads, lines)}
    return rows, rejects


def test_every_damaged_alert_file_is_rejected_or_classified(
    settings: Settings,
    bootstrap: str,
    spark: object,
    tmp_path: Path,
    reliability: Callable[..., None],
) -> None:
    tally = Tally()
    here = settings.model_copy(update={"kafka_bootstrap": bootstrap})

    @batches(examples=3)
    @given(files=alert_files())
    def accounted(files: list[bytes]) -> None:
        rows, rejects = _run(here, tmp_path, files)
        written = set(rows["candid"].astype("int64"))
        assert rows["candid"].is_unique
        everything: set[int] = set()
        for i, data in enumerate(files):
            name, (candids, whole) = f"alert-{i:03d}.avro", _read(data)
            everything |= candids
            if name in rejects:
                assert rejects[name], f"{name}: rejected without a reason"
                continue
            assert whole, f"{name} cannot be read, yet it is not in the rejects"
            assert candids <= written, f"{name}: alerts {candids} neither written nor rejected"
        assert written <= everything, "the CSV holds alerts no input file holds"
        tally.add(len(files))

    accounted()
    reliability("alerts", fuzz_cases=tally.cases, fuzz_runs=tally.examples)
    assert tally.examples == 3
