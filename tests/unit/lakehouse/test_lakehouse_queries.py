"""The lakehouse's queries as the runner gets them: per dataset a silver query listed before
its bronze query, bronze in the scheduler pool that goes first, silver awaiting bronze (and,
for a file dataset, starting only once the landing backlog is in bronze)."""

from __future__ import annotations

from pathlib import Path

from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.pipeline import _idle_or_late, lakehouse_pipeline
from caudal.pipelines.lakehouse.spec import configured
from caudal.settings import Settings


def test_silver_is_listed_first_waits_for_bronze_and_yields_the_cores(tmp_path: Path) -> None:
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


def test_a_file_datasets_silver_starts_once_its_landing_backlog_is_in_bronze(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    pipeline = lakehouse_pipeline(settings, "http://registry.invalid")
    by_name = {q.name: q for q in pipeline.queries}
    assert by_name["silver_sales"].starts_when is None  # a topic's backlog is not files
    starts_when = by_name["silver_inventory"].starts_when
    assert starts_when is not None
    landing = Layout.of(settings).landing(str(configured(settings).datasets["inventory"].landing))
    landing.mkdir(parents=True)
    waiting = landing / "inventory-0001.csv"
    waiting.write_text("product_id\n1\n")
    assert not starts_when()  # a file bronze has not taken yet
    waiting.unlink()
    assert starts_when()


def test_a_silver_query_starts_after_its_yield_even_on_an_endless_backlog() -> None:
    assert not _idle_or_late(lambda: True, 60)()
    assert _idle_or_late(lambda: True, 0)()
