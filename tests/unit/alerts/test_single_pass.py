"""The shipped single-pass alerts model is the trained model's unrotated branch, exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from caudal.models.onnx_classifier import load_classifier
from caudal.pipelines.alerts.model.single_pass import extract

MODELS = Path(__file__).resolve().parents[3] / "models"
AVERAGED = MODELS / "alerts_stamp_classifier.onnx"
SINGLE = MODELS / "alerts_stamp_classifier_single.onnx"


def _inputs(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    stamps = rng.normal(size=(n, 3, 63, 63)).astype(np.float32)
    return stamps, rng.normal(size=(n, 18)).astype(np.float32)


def test_the_averaged_model_is_the_mean_of_the_single_pass_over_four_rotations() -> None:
    stamps, metadata = _inputs(16)
    single = load_classifier(SINGLE)
    rotations = [np.rot90(stamps, k, axes=(2, 3)).copy() for k in range(4)]
    mean = np.mean(
        [single.predict_proba({"stamps": r, "metadata": metadata}) for r in rotations], axis=0
    )
    averaged = load_classifier(AVERAGED).predict_proba({"stamps": stamps, "metadata": metadata})
    np.testing.assert_allclose(averaged, mean, atol=1e-5)
    assert not np.allclose(averaged, single.predict_proba({"stamps": stamps, "metadata": metadata}))


def test_the_shipped_file_is_what_extract_writes(tmp_path: Path) -> None:
    target = tmp_path / "single.onnx"
    extract(AVERAGED, target)
    (tmp_path / "single.json").write_text(SINGLE.with_suffix(".json").read_text())
    stamps, metadata = _inputs(8)
    feed = {"stamps": stamps, "metadata": metadata}
    np.testing.assert_array_equal(
        load_classifier(target).predict_proba(feed), load_classifier(SINGLE).predict_proba(feed)
    )
