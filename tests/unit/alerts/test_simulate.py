"""The alert simulator: ZTF-compatible files and per-class physics."""

from __future__ import annotations

import csv
from pathlib import Path

import fastavro
import numpy as np
import pytest

from caudal.pipelines.alerts.model.calibrate import default_samples_dir
from caudal.pipelines.alerts.model.scenes import CLASSES
from caudal.pipelines.alerts.model.simulate import (
    simulate_alert,
    simulate_arrays,
    simulate_dataset,
    write_alerts,
)
from caudal.pipelines.alerts.stamps import alert_cutouts

SAMPLES = default_samples_dir()
REAL_33 = "fink_975188145315015000.avro"


def _field_names(schema: dict) -> dict[str, list[str]]:
    """Top-level, candidate and prv_candidate field names of a parsed writer schema."""
    fields = {f["name"]: f for f in schema["fields"]}
    candidate = fields["candidate"]["type"]
    prv = fields["prv_candidates"]["type"][0]["items"]
    return {
        "alert": list(fields),
        "candidate": [f["name"] for f in candidate["fields"]],
        "prv": [f["name"] for f in prv["fields"]],
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    write_alerts(out, n=10, seed=3)
    return out


def test_written_files_read_like_real_ztf_alerts(written: Path) -> None:
    paths = sorted(written.glob("*.avro"))
    assert len(paths) == 10
    for path in paths:
        with path.open("rb") as handle:
            reader = fastavro.reader(handle)
            alerts = list(reader)
            names = _field_names(reader.writer_schema)
        assert len(alerts) == 1
        for image in alert_cutouts(alerts[0]):
            assert image is not None and image.shape == (63, 63)
        assert alerts[0]["candidate"]["isdiffpos"] in ("t", "f")
    if SAMPLES is not None and (SAMPLES / REAL_33).exists():
        with (SAMPLES / REAL_33).open("rb") as handle:
            assert _field_names(fastavro.reader(handle).writer_schema) == names


def test_labels_sidecar_matches_files(written: Path) -> None:
    with (written / "labels.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10 and {r["class"] for r in rows} == set(CLASSES)
    assert {f"{r['candid']}.avro" for r in rows} == {p.name for p in written.glob("*.avro")}


def test_many_alerts_per_file(tmp_path: Path) -> None:
    paths = write_alerts(tmp_path, n=7, seed=1, per_file=3)
    counts = []
    for path in paths:
        with path.open("rb") as handle:
            counts.append(len(list(fastavro.reader(handle))))
    assert counts == [3, 3, 1]


def test_same_seed_same_alert() -> None:
    a = simulate_alert(np.random.default_rng([9, 1]), "SN")
    b = simulate_alert(np.random.default_rng([9, 1]), "SN")
    assert a == b


def test_difference_file_name_follows_isdiffpos() -> None:
    for i in range(6):
        alert = simulate_alert(np.random.default_rng([5, i]), "VS")
        name = alert["cutoutDifference"]["fileName"]
        expected = "scimref" if alert["candidate"]["isdiffpos"] == "t" else "refmsci"
        assert expected in name


def _centre_excess(image: np.ndarray) -> float:
    """Peak of the central 5x5 box above the stamp median, in robust-sigma units."""
    finite = image[np.isfinite(image)]
    median = np.median(finite)
    sigma = 1.4826 * np.median(np.abs(finite - median))
    return float((np.nanmax(image[29:34, 29:34]) - median) / sigma)


def _many(cls: str, n: int = 12) -> list:
    return [simulate_arrays(np.random.default_rng([11, i]), cls) for i in range(n)]


def _centre_adu(image: np.ndarray) -> float:
    return float(np.nanmax(image[29:34, 29:34]) - np.nanmedian(image))


def test_asteroid_is_in_science_only_without_history() -> None:
    for sim in _many("asteroid"):
        assert _centre_adu(sim.template) < 0.1 * _centre_adu(sim.science)
        assert _centre_excess(sim.difference) > 4.0
        cand = sim.candidate
        assert cand["ndethist"] <= 2 and cand["isdiffpos"] == "t"
        assert cand["ssdistnr"] == -999.0 or 0.0 <= cand["ssdistnr"] < 30.0
    assert sum(s.candidate["ssdistnr"] >= 0 for s in _many("asteroid")) >= 6


def test_variable_star_sits_on_a_template_star() -> None:
    sims = _many("VS")
    for sim in sims:
        assert _centre_excess(sim.template) > 10.0
        assert sim.candidate["distpsnr1"] < 1.5
    assert {s.candidate["isdiffpos"] for s in sims} == {"t", "f"}
    assert np.median([s.candidate["sgscore1"] for s in sims]) > 0.8


def test_supernova_is_new_and_usually_near_a_galaxy() -> None:
    sims = _many("SN", 20)
    assert all(s.candidate["isdiffpos"] == "t" for s in sims)
    hosted = [s for s in sims if s.candidate["sgscore1"] >= 0 and s.candidate["distpsnr1"] < 10]
    assert len(hosted) >= 12
    assert np.median([s.candidate["sgscore1"] for s in hosted]) < 0.3


def test_difference_is_sign_corrected_and_detected() -> None:
    for cls in ("AGN", "SN", "VS", "asteroid"):
        for sim in _many(cls, 5):
            assert _centre_excess(sim.difference) > 4.0
            assert sim.candidate["magpsf"] < sim.candidate["diffmaglim"] + 0.3


def test_bogus_covers_several_artefact_types() -> None:
    subtypes = {s.subtype for s in _many("bogus", 40)}
    assert {"dipole", "hot_pixel", "cold_pixel"} <= subtypes and len(subtypes) >= 5


def test_dataset_is_balanced_and_model_ready() -> None:
    stamps, meta, labels = simulate_dataset(seed=2, n_per_class=3)
    assert stamps.shape == (15, 3, 63, 63) and stamps.dtype == np.float32
    assert meta.shape[0] == 15 and np.isfinite(stamps).all() and np.isfinite(meta).all()
    assert np.bincount(labels).tolist() == [3] * 5
