"""The shipped alert classifier, its input contract and the generic ONNX helper."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from caudal.errors import CaudalError
from caudal.models.onnx_classifier import load_classifier, read_labels
from caudal.pipelines.alerts.features import (
    FEATURES,
    alert_inputs,
    ecliptic_latitude,
    galactic_latitude,
    metadata_features,
)
from caudal.pipelines.alerts.model.calibrate import default_samples_dir, read_alerts
from caudal.pipelines.alerts.model.card import classification_metrics
from caudal.pipelines.alerts.model.scenes import CLASSES
from caudal.pipelines.alerts.model.simulate import simulate_dataset

MODEL = Path(__file__).resolve().parents[3] / "models" / "alerts_stamp_classifier.onnx"
SAMPLES = default_samples_dir()
FRESH_SEED = 777_001  # neither the training seed (0) nor the card's held-out seed


@pytest.fixture(scope="module")
def classifier():
    if not MODEL.exists():
        pytest.skip(f"{MODEL} not trained yet")
    return load_classifier(MODEL)


def test_sidecar_describes_the_contract(classifier) -> None:
    card = read_labels(MODEL)
    assert card["classes"] == list(CLASSES)
    assert card["metadata_features"] == list(FEATURES)
    assert classifier.input_names == ["stamps", "metadata"]
    assert 0.0 < card["heldout_accuracy"] <= 1.0
    assert MODEL.stat().st_size < 2 * 1024 * 1024
    assert MODEL.with_suffix(".md").exists()


def test_fresh_simulated_accuracy_matches_card(classifier) -> None:
    stamps, meta, labels = simulate_dataset(FRESH_SEED, n_per_class=60)
    proba = classifier.predict_proba({"stamps": stamps, "metadata": meta}, batch_size=64)
    accuracy = classification_metrics(labels, proba, list(CLASSES))["accuracy"]
    assert accuracy >= read_labels(MODEL)["heldout_accuracy"] - 0.05


@pytest.mark.skipif(SAMPLES is None, reason="real ZTF samples not available")
def test_real_alerts_get_five_probabilities_summing_to_one(classifier) -> None:
    stamps, meta, flags = alert_inputs(read_alerts(SAMPLES))
    proba = classifier.predict_proba({"stamps": stamps, "metadata": meta})
    assert proba.shape == (16, 5) and len(flags) == 16
    assert np.all(proba >= 0) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_loader_caches_one_session_per_file(classifier) -> None:
    assert load_classifier(MODEL) is classifier


def test_empty_batch(classifier) -> None:
    empty = {"stamps": np.zeros((0, 3, 63, 63)), "metadata": np.zeros((0, len(FEATURES)))}
    assert classifier.predict_proba(empty).shape == (0, 5)


def _identity_model(tmp_path: Path, kind: str | None) -> Path:
    """A 3-class 'model' returning its input, with a sidecar saying what it returns."""
    onnx = pytest.importorskip("onnx")  # the `train` extra; inference itself needs only ORT
    helper, TensorProto = onnx.helper, onnx.TensorProto
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])
    y = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", 3])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["scores"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / f"identity_{kind}.onnx"
    onnx.save(model, path)
    sidecar = {"classes": ["a", "b", "c"]} | ({"output": {"kind": kind}} if kind else {})
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


def test_generic_helper_softmaxes_logits_only_when_told(tmp_path: Path) -> None:
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], np.float32)
    proba = load_classifier(_identity_model(tmp_path, "logits")).predict_proba(logits)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert proba[0].argmax() == 2 and np.allclose(proba[1], 1 / 3)
    raw = load_classifier(_identity_model(tmp_path, None)).predict(logits)
    assert raw[0] == ("c", 3.0)


def test_helper_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(CaudalError, match="not found"):
        load_classifier(tmp_path / "missing.onnx")
    path = _identity_model(tmp_path, "logits")
    path.with_suffix(".json").write_text("{}")
    with pytest.raises(CaudalError, match="no 'classes'"):
        read_labels(path)


def test_metadata_features_handle_sentinels_nulls_and_frames() -> None:
    rows = [
        {
            "sgscore1": 0.9,
            "distpsnr1": 0.2,
            "isdiffpos": "t",
            "ndethist": 9,
            "ssdistnr": -999.0,
            "classtar": 0.98,
            "magpsf": 18.0,
            "sigmapsf": 0.1,
            "rb": 0.8,
            "drb": None,
            "ra": 10.0,
            "dec": 20.0,
        },
        {"sgscore1": -999.0, "distpsnr1": -999.0, "isdiffpos": "f", "ssdistnr": 1.5},
    ]
    matrix = metadata_features(rows)
    assert matrix.shape == (2, len(FEATURES)) and matrix.dtype == np.float32
    assert np.isfinite(matrix).all()
    row = dict(zip(FEATURES, matrix[0], strict=True))
    assert row["sgscore1"] == pytest.approx(0.9) and row["sgscore1_missing"] == 0
    assert row["drb_missing"] == 1 and row["ss_known"] == 0 and row["isdiffpos"] == 1
    row = dict(zip(FEATURES, matrix[1], strict=True))
    assert row["sgscore1_missing"] == 1 and row["distpsnr1_missing"] == 1
    assert row["ss_known"] == 1 and row["ssdistnr_log"] == pytest.approx(np.log10(2.5))
    np.testing.assert_array_equal(metadata_features(pd.DataFrame(rows)), matrix)


def test_sky_latitudes_match_astropy() -> None:
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    rng = np.random.default_rng(0)
    ra, dec = rng.uniform(0, 360, 50), rng.uniform(-89, 89, 50)
    coords = SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame="icrs")
    np.testing.assert_allclose(galactic_latitude(ra, dec), coords.galactic.b.deg, atol=1e-3)
    beta = coords.transform_to("geocentricmeanecliptic").lat.deg
    np.testing.assert_allclose(ecliptic_latitude(ra, dec), beta, atol=0.05)
