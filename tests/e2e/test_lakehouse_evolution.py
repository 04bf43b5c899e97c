"""Schema evolution: an added optional field flows to bronze and silver (older rows null);
an incompatible change is refused with one clear line, by the registry and by silver."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml
from deltalake import DeltaTable

from caudal.pipelines.lakehouse.publish import schema_file
from caudal.pipelines.lakehouse.spec import SHIPPED
from tests.support.cli import caudal, cli_env


def _datasets(path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load(SHIPPED.read_text())
    raw["datasets"] = {k: raw["datasets"][k] for k in ("inventory", "sales")}
    raw["gold"] = {k: raw["gold"][k] for k in ("daily_sales", "stock_cover")}
    edit(raw["datasets"]["sales"])
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.slow
def test_added_optional_field_then_incompatible_changes(bootstrap: str, tmp_path: Path) -> None:
    before = _datasets(tmp_path / "v1.yaml", lambda s: s["columns"].pop("coupon"))
    after = _datasets(tmp_path / "v2.yaml", lambda s: None)
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=f"ev{uuid.uuid4().hex[:6]}.",
        CAUDAL_SPARK_MASTER="local[2]",
        CAUDAL_LAKEHOUSE_DATASETS=str(before),
    )
    steps = [
        ("lakehouse", "generate", "files", "-d", "inventory", "-n", "400", "--seed", "1"),
        ("lakehouse", "generate", "events", "-n", "150", "--seed", "2"),
        ("run", "lakehouse"),
    ]
    for step in steps:
        done = caudal(*step, env=env, timeout=300)
        assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    root = tmp_path / "data" / "lakehouse"
    assert "coupon" not in DeltaTable(str(root / "silver" / "sales")).schema().to_arrow().names

    env["CAUDAL_LAKEHOUSE_DATASETS"] = str(after)
    for step in (
        ("lakehouse", "generate", "events", "-n", "150", "--schema-version", "2"),
        ("run", "lakehouse"),
    ):
        done = caudal(*step, env=env, timeout=300)
        assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    bronze = DeltaTable(str(root / "bronze" / "sales")).to_pandas()
    silver = DeltaTable(str(root / "silver" / "sales")).to_pandas()
    assert len(bronze) == len(silver) == 300
    assert bronze["_schema_id"].nunique() == 2
    newer = silver["_schema_id"] == silver["_schema_id"].max()
    assert silver.loc[~newer, "coupon"].isna().all()
    assert silver.loc[newer, "coupon"].notna().any()
    assert "amount" in silver.columns  # the declared transform still applies

    changed = json.loads(schema_file(2).read_text())
    next(f for f in changed["fields"] if f["name"] == "quantity")["type"] = "string"
    (tmp_path / "bad.avsc").write_text(json.dumps(changed))
    refused = caudal(
        "lakehouse", "generate", "events", "--schema", str(tmp_path / "bad.avsc"), env=env
    )
    assert refused.returncode == 1
    assert "the schema registry refused bad.avsc" in refused.stderr
    assert "quantity: type changed from int to string" in refused.stderr

    retyped = _datasets(
        tmp_path / "v3.yaml", lambda s: s["columns"]["quantity"].update(type="string")
    )
    env["CAUDAL_LAKEHOUSE_DATASETS"] = str(retyped)
    refused = caudal("run", "lakehouse", env=env)
    assert refused.returncode == 1
    assert (
        "silver table sales cannot take the declared schema: quantity: int → string"
        in refused.stderr.replace("\n", " ")
    )
