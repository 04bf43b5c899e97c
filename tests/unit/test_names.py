"""The names and paths the runner gives a query: one place, and the topic prefix in each."""

from __future__ import annotations

from pathlib import Path

from caudal.pipelines import names
from caudal.settings import Settings


def test_a_topic_prefix_gives_a_query_its_own_checkpoint_and_group(tmp_path: Path) -> None:
    plain = Settings(data_dir=tmp_path)
    shared = Settings(data_dir=tmp_path, topic_prefix="team-a.")

    assert names.checkpoint(plain, "emergencies", "routes") == (
        tmp_path.resolve() / "checkpoints" / "emergencies" / "routes"
    )
    assert names.checkpoint(shared, "emergencies", "routes") == (
        tmp_path.resolve() / "checkpoints" / "team-a.emergencies" / "routes"
    )
    assert names.consumer_group(plain, "emergencies", "routes") == "caudal.emergencies.routes"
    assert names.consumer_group(shared, "emergencies", "routes") == (
        "team-a.caudal.emergencies.routes"
    )
