"""The datasets file: the shipped one is valid; each kind of mistake is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from caudal.errors import CaudalError
from caudal.pipelines.lakehouse.spec import SHIPPED, load


def test_shipped_file_declares_every_seed_source() -> None:
    lake = load()
    assert set(lake.datasets) == {"inventory", "shipments", "weather", "sensors", "sales"}
    assert {d.format for d in lake.datasets.values() if not d.is_stream} == {
        "csv",
        "json",
        "parquet",
    }
    assert lake.datasets["sales"].subject == "lakehouse.sales-value"
    assert {g.name for g in lake.gold_for("sales")} == {
        "daily_sales",
        "stock_cover",
        "sales_vs_weather",
    }


def test_a_topic_name_strategy_subject_follows_the_prefixed_topic(tmp_path: Path) -> None:
    sales = load().datasets["sales"]
    assert sales.registry_subject("lh1.lakehouse.sales") == "lh1.lakehouse.sales-value"
    path = _broken(tmp_path, lambda r: r["datasets"]["sales"]["source"].update(subject="farm"))
    assert load(path).datasets["sales"].registry_subject("lh1.lakehouse.sales") == "farm"


def _broken(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load(SHIPPED.read_text())
    edit(raw)
    path = tmp_path / "datasets.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda r: r["datasets"]["weather"]["columns"]["day"].update(type="datetime"),
            "has type 'datetime'",
        ),
        (
            lambda r: r["datasets"]["weather"].update(primary_key=["city"]),
            "'city' is not a declared",
        ),
        (
            lambda r: r["datasets"]["sales"]["expectations"].append(
                {"rule": "unique", "column": "order_id"}
            ),
            "rule 'unique'",
        ),
        (
            lambda r: r["datasets"]["sales"]["expectations"].append(
                {"rule": "references", "column": "product_id", "dataset": "catalog"}
            ),
            "unknown dataset catalog",
        ),
        (lambda r: r["datasets"]["inventory"]["source"].update(format="xlsx"), "landing format"),
        (lambda r: r["gold"]["daily_sales"].update(inputs=["orders"]), "unknown: ['orders']"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CaudalError) as err:
        load(_broken(tmp_path, edit))
    assert message in err.value.reason
