"""FarmIA's data, made up but coherent (the seed's generator notebooks, as functions).

One catalog, derived from a fixed seed, ties every dataset together: the product ids in sales
and shipments exist in inventory, sensor ids are the same in every file, weather is per real
Spanish farm-region capital and date. Files are written under a hidden name and renamed when
complete (the landing contract); events are Avro in the Confluent wire format, registered in
the schema registry by confluent-kafka's own serializer.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from faker import Faker

REGIONS = {  # region: (weather station city, mean July max °C, mean January max °C)
    "Andalucia": ("Sevilla", 36.0, 16.0),
    "Castilla-La Mancha": ("Toledo", 34.0, 11.0),
    "Murcia": ("Murcia", 33.0, 17.0),
    "Valencia": ("Valencia", 30.0, 16.0),
    "Aragon": ("Zaragoza", 32.0, 10.0),
    "Galicia": ("Lugo", 25.0, 10.0),
}
CATEGORIES = {
    "vegetables": ["tomato", "pepper", "lettuce", "onion", "potato", "carrot"],
    "fruit": ["orange", "lemon", "peach", "apple", "grape", "melon"],
    "dairy": ["goat cheese", "sheep milk", "yogurt"],
    "grain": ["wheat", "barley", "rice"],
    "seeds": ["tomato seeds", "sunflower seeds", "bean seeds"],
    "fertilizer": ["compost", "NPK 15-15-15", "humus"],
}
METRICS = {"soil_moisture": (30.0, 8.0), "air_temperature": (22.0, 5.0), "humidity": (55.0, 12.0)}
CHANNELS = ["web", "app", "marketplace"]


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    category: str
    unit_cost: float


@dataclass(frozen=True)
class Catalog:
    products: tuple[Product, ...]
    warehouses: dict[str, str]  # warehouse -> region
    suppliers: tuple[tuple[str, str], ...]
    sensors: tuple[tuple[str, str, str, str], ...]  # id, farm, region, metric


@lru_cache(maxsize=1)
def catalog(products: int = 200) -> Catalog:
    """The same catalog in every process (fixed seed): what keeps datasets referentially whole."""
    rng = random.Random(4)
    fake = Faker("es_ES")
    fake.seed_instance(4)
    items = []
    for i in range(1, products + 1):
        category = rng.choice(sorted(CATEGORIES))
        kind = rng.choice(CATEGORIES[category])
        items.append(
            Product(
                f"P{i:05d}", f"{kind} {fake.last_name()}", category, round(rng.uniform(0.3, 40), 2)
            )
        )
    warehouses = {f"W-{REGIONS[r][0][:3].upper()}": r for r in REGIONS}
    suppliers = tuple((f"SUP{i:03d}", fake.company()) for i in range(1, 31))
    sensors = []
    for f in range(1, 13):
        region = sorted(REGIONS)[f % len(REGIONS)]
        farm = f"Finca {fake.last_name()}"
        sensors += [(f"S{f:02d}-{m[:4].upper()}", farm, region, m) for m in sorted(METRICS)]
    return Catalog(tuple(items), warehouses, suppliers, tuple(sensors))


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def inventory_rows(rng: random.Random, n: int) -> list[dict[str, Any]]:
    cat, now = catalog(), _now()
    rows = []
    for i in range(n):
        p = cat.products[i % len(cat.products)]  # n >= 200 rows: every product is stocked
        warehouse = rng.choice(sorted(cat.warehouses))
        rows.append(
            {
                "product_id": p.product_id,
                "product_name": p.name,
                "category": p.category,
                "warehouse": warehouse,
                "region": cat.warehouses[warehouse],
                "stock_units": rng.randint(0, 5000),
                "unit_cost": p.unit_cost,
                "updated_at": (now - timedelta(seconds=rng.randint(0, 3600))).isoformat(),
            }
        )
    return rows


def shipment_rows(rng: random.Random, n: int) -> list[dict[str, Any]]:
    cat, now = catalog(), _now()
    rows = []
    for _ in range(n):
        supplier_id, supplier_name = rng.choice(cat.suppliers)
        rows.append(
            {
                "shipment_id": f"SH-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}",
                "supplier_id": supplier_id,
                "supplier_name": supplier_name,
                "product_id": rng.choice(cat.products).product_id,
                "quantity": rng.randint(10, 2000),
                "status": rng.choice(["ordered", "in_transit", "delivered", "delivered"]),
                "shipped_at": (now - timedelta(hours=rng.randint(0, 240))).isoformat(),
                "eta_days": rng.randint(1, 10),
            }
        )
    return rows


def weather_rows(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """``n`` days back from today for every region (so n × regions rows), seasonal maxima."""
    today, rows = datetime.now(UTC).date(), []
    for back in range(n):
        day = today - timedelta(days=back)
        season = (1 - math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365)) / 2
        for region, (city, july, january) in REGIONS.items():
            high = january + (july - january) * season + rng.gauss(0, 2.5)
            rows.append(
                {
                    "region": region,
                    "station": city,
                    "day": day,
                    "temp_max_c": round(high, 1),
                    "temp_min_c": round(high - rng.uniform(7, 15), 1),
                    "rain_mm": round(max(0.0, rng.gauss(-2, 6)), 1),
                    "recorded_at": datetime.combine(day, datetime.min.time(), UTC)
                    + timedelta(hours=23),
                }
            )
    return rows


def sensor_rows(rng: random.Random, n: int) -> list[dict[str, Any]]:
    cat, now = catalog(), _now()
    rows = []
    for i in range(n):
        sensor_id, farm, region, metric = rng.choice(cat.sensors)
        mean, sd = METRICS[metric]
        spike = 6 * sd if rng.random() < 0.004 else 0.0
        rows.append(
            {
                "sensor_id": sensor_id,
                "farm": farm,
                "region": region,
                "metric": metric,
                "value": round(rng.gauss(mean, sd / 3) + spike, 2),
                "reading_at": (now - timedelta(seconds=n - i)).isoformat(),
            }
        )
    return rows


def sale(rng: random.Random, coupon: bool = False) -> dict[str, Any]:
    p = rng.choice(catalog().products)
    record = {
        "order_id": f"O-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}",
        "product_id": p.product_id,
        "quantity": rng.randint(1, 12),
        "unit_price": round(p.unit_cost * rng.uniform(1.2, 2.0), 2),
        "region": rng.choice(sorted(REGIONS)),
        "channel": rng.choice(CHANNELS),
        "ordered_at": _now() - timedelta(seconds=rng.randint(0, 86400 * 3)),
    }
    if coupon:
        record["coupon"] = rng.choice([None, "SPRING10", "FARM5"])
    return record


ROWS: dict[str, Callable[[random.Random, int], list[dict[str, Any]]]] = {
    "inventory": inventory_rows,
    "shipments": shipment_rows,
    "weather": weather_rows,
    "sensors": sensor_rows,
}


def write_landing_file(folder: Path, rows: list[dict[str, Any]], fmt: str, stem: str) -> Path:
    """Write under a hidden name, then rename: readers never see a half-written file."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{stem}.{'jsonl' if fmt == 'json' else fmt}"
    tmp = folder / f".{final.name}.tmp"
    if fmt == "json":
        tmp.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows))
    elif fmt == "csv":
        pacsv.write_csv(pa.Table.from_pylist(rows), tmp)
    else:
        pq.write_table(pa.Table.from_pylist(rows), tmp)
    tmp.rename(final)
    return final


def generate_files(
    landing: Path, dataset: str, fmt: str, n: int, files: int = 1, seed: int | None = None
) -> list[Path]:
    """``files`` new landing files of ``dataset``, ``n`` rows in all (weather: ``n`` days)."""
    rows = ROWS[dataset](random.Random(seed), n)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    size = -(-len(rows) // files)
    return [
        write_landing_file(
            landing / dataset, rows[k * size : (k + 1) * size], fmt, f"{dataset}-{stamp}-{k:04d}"
        )
        for k in range(files)
        if rows[k * size : (k + 1) * size]
    ]
