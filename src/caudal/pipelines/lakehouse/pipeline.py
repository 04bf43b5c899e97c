"""The lakehouse pipeline as the runner sees it: one query per dataset, its sink does all layers."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from caudal.pipelines import names
from caudal.pipelines.base import Pipeline, QuerySpec, TopicSpec
from caudal.pipelines.lakehouse import bronze
from caudal.pipelines.lakehouse.caught_up import all_files_committed, backlog, empty_files
from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.sink import LakehouseSink
from caudal.pipelines.lakehouse.spec import Dataset, Lakehouse, configured
from caudal.settings import Settings

NAME = "lakehouse"


def query_name(dataset: Dataset) -> str:
    return f"bronze_{dataset.name}"


def _checkpoint(settings: Settings, ds: Dataset) -> Path:
    return names.checkpoint(settings, NAME, query_name(ds))


def _caught_up(settings: Settings, ds: Dataset) -> Callable[[], bool]:
    folder = Layout.of(settings).landing(str(ds.landing))
    return partial(all_files_committed, folder, _checkpoint(settings, ds))


def _query(
    settings: Settings, lake: Lakehouse, ds: Dataset, registry_url: str, chosen: list[Dataset]
) -> QuerySpec:
    layout, name = Layout.of(settings), query_name(ds)
    referenced = {e.dataset for e in ds.expectations if e.rule == "references"}
    upstream = {
        d.name: partial(backlog, layout.landing(str(d.landing)), _checkpoint(settings, d))
        for d in chosen
        if d.name in referenced and not d.is_stream
    }
    empty = None if ds.is_stream else partial(empty_files, _checkpoint(settings, ds))
    sink = LakehouseSink(lake, ds, layout, name, upstream, empty)
    if ds.is_stream:
        return QuerySpec(
            name,
            [settings.topic(str(ds.topic))],
            partial(bronze.topic_stream, dataset=ds, registry_url=registry_url),
            sink,
        )
    return QuerySpec(
        name, [], partial(bronze.file_stream, dataset=ds), sink, caught_up=_caught_up(settings, ds)
    )


def lakehouse_pipeline(
    settings: Settings, registry_url: str, only: list[str] | None = None
) -> Pipeline:
    """Every dataset of the datasets file (or ``only`` those), each a streaming query."""
    lake = configured(settings)
    chosen = [ds for name, ds in lake.datasets.items() if not only or name in only]
    layout = Layout.of(settings)
    landing = [layout.landing(str(ds.landing)) for ds in chosen if not ds.is_stream]
    return Pipeline(
        name=NAME,
        description=f"landing files + Avro topics → bronze/silver/gold Delta in {layout.root}",
        topics=[TopicSpec(settings.topic(str(ds.topic)), 2) for ds in chosen if ds.is_stream],
        feeders=[],
        queries=[_query(settings, lake, ds, registry_url, chosen) for ds in chosen],
        outputs=[str(layout.root)],
        start=lambda _spark, _ctx: _make_folders(landing),
    )


def _make_folders(folders: list[Path]) -> None:
    """Driver, before the queries: each file dataset's landing zone, so its stream can start
    (Spark's file source needs the folder) and users see where to drop files."""
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
