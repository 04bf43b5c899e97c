"""The lakehouse's queries as the runner gets them: per dataset a silver query started before
its bronze query, bronze in the scheduler pool that goes first, silver awaiting bronze."""

from __future__ import annotations

from pathlib import Path

from caudal.pipelines.lakehouse.pipeline import lakehouse_pipeline
from caudal.settings import Settings


def test_silver_starts_first_waits_for_bronze_and_yields_the_cores(tmp_path: Path) -> None:
    pipeline = lakehouse_pipeline(Settings(data_dir=tmp_path), "http://registry.invalid")
    names = [q.name for q in pipeline.queries]
    datasets = [n.removeprefix("bronze_") for n in names if n.startswith("bronze_")]
    assert {"inventory", "sales"} <= set(datasets)
    for ds in datasets:
        assert names.index(f"silver_{ds}") < names.index(f"bronze_{ds}")
    by_name = {q.name: q for q in pipeline.queries}
    for ds in datasets:
        bronze, silver = by_name[f"bronze_{ds}"], by_name[f"silver_{ds}"]
        assert bronze.pool == "ingest" and silver.pool == "refine", ds
        assert silver.after == bronze.name and silver.caught_up is not None, ds
        assert bronze.after is None, ds
