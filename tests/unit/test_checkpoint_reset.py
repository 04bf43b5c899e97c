"""Checkpoints made against a memory broker are discarded once that broker's topics are gone."""

from __future__ import annotations

from pathlib import Path

from caudal.pipelines.runner import reset_stale_checkpoints


def _checkpoint(root: Path) -> Path:
    offsets = root / "q" / "offsets"
    offsets.mkdir(parents=True)
    (offsets / "0").write_text("{}")
    return offsets


def test_same_memory_broker_keeps_checkpoints(tmp_path: Path) -> None:
    notes: list[str] = []
    reset_stale_checkpoints(tmp_path, "a", notes)
    kept = _checkpoint(tmp_path)
    reset_stale_checkpoints(tmp_path, "a", notes)
    assert kept.exists() and not notes


def test_restarted_memory_broker_resets_checkpoints(tmp_path: Path) -> None:
    notes: list[str] = []
    reset_stale_checkpoints(tmp_path, "a", notes)
    gone = _checkpoint(tmp_path)
    reset_stale_checkpoints(tmp_path, "b", notes)
    assert not gone.exists() and len(notes) == 1


def test_switch_to_durable_broker_resets_memory_checkpoints(tmp_path: Path) -> None:
    notes: list[str] = []
    reset_stale_checkpoints(tmp_path, "a", notes)
    gone = _checkpoint(tmp_path)
    reset_stale_checkpoints(tmp_path, None, notes)
    assert not gone.exists() and notes


def test_durable_broker_checkpoints_are_kept(tmp_path: Path) -> None:
    notes: list[str] = []
    kept = _checkpoint(tmp_path)
    reset_stale_checkpoints(tmp_path, None, notes)
    reset_stale_checkpoints(tmp_path, None, notes)
    assert kept.exists() and not notes
