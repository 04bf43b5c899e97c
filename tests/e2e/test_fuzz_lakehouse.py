"""Fuzzed landing files and Avro events through the real lakehouse job: every input accounted.

Each example draws inventory CSV files (broken quoting, extra or missing columns, wrong types,
other encodings, empty, oversized, half written then renamed), shipments JSON-lines files
(malformed, nested, non-object, non-UTF-8 lines) and sales events (two schema versions, unknown
schema ids, unframed, truncated and bit-flipped bodies), and runs the pipeline once. Then every
line or event is in bronze or in the quarantine exactly once (a file that cannot be read: one
quarantine row for it), and every bronze row is in silver (by key) or quarantined by silver.
"""

from __future__ import annotations

import json
import random
import struct
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from confluent_kafka import Producer
from confluent_kafka.serialization import MessageField, SerializationContext
from deltalake import DeltaTable
from hypothesis import given
from hypothesis import strategies as st

from caudal.pipelines.lakehouse.generate import inventory_rows, sale, shipment_rows
from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.pipeline import lakehouse_pipeline
from caudal.pipelines.lakehouse.publish import schema_file, serializer
from caudal.pipelines.runner import run_pipeline
from caudal.registry.embedded import registry_url
from caudal.settings import Settings
from tests.support.fuzzing import Tally, batches

DATASETS = ["inventory", "shipments", "sales"]
KEYS = {
    "inventory": ["product_id", "warehouse"],
    "shipments": ["shipment_id"],
    "sales": ["order_id"],
}
WORD = st.text(st.characters(exclude_categories=("Cs", "Cc"), exclude_characters=',"'), max_size=8)
MAX_FILE_MB = 0.2


@st.composite
def csv_file(draw: st.DrawFn) -> tuple[bytes, int | None]:
    """An inventory CSV and its row count (None when its quoting is broken: unknowable)."""
    rows = inventory_rows(random.Random(draw(st.integers(0, 2**32))), draw(st.integers(5, 60)))
    header, lines, exact = list(rows[0]), [], True
    lines.append(",".join(header))
    for row in rows:
        fields = [str(v) for v in row.values()]
        kind = draw(st.sampled_from(["ok"] * 5 + ["extra", "missing", "type", "quote", "nl"]))
        if kind == "extra":
            fields.append(draw(WORD))
        elif kind == "missing":
            fields.pop(draw(st.integers(0, len(fields) - 1)))
        elif kind == "type":
            fields[draw(st.integers(5, 7))] = draw(WORD)
        elif kind == "quote":
            fields[draw(st.integers(0, 7))] = '"' + draw(WORD)
            exact = False
        elif kind == "nl":  # valid CSV: a quoted field over two lines
            fields[1] = f'"{fields[1]}\n{draw(WORD)}"'
        lines.append(",".join(fields))
    text = "\n".join(lines) + "\n"
    data = text.encode(draw(st.sampled_from(["utf-8"] * 4 + ["latin-1", "utf-16"])), "replace")
    shape = draw(st.sampled_from(["whole"] * 6 + ["empty", "oversized", "cut"]))
    if shape == "empty":
        return b"", 0
    if shape == "oversized":
        return data * (int(MAX_FILE_MB * 2**20) // len(data) + 2), 0
    if shape == "cut":
        return data[: draw(st.integers(1, len(data)))], None
    return data, len(rows) if exact else None


LINE_DAMAGE: dict[str, Callable[[st.DrawFn, bytes], bytes]] = {
    "malformed": lambda draw, line: line[: draw(st.integers(0, len(line) - 1))],
    "nested": lambda draw, line: b"[" * draw(st.integers(1, 50_000)),
    "not an object": lambda draw, line: b"[" + line + b"]",
    "not UTF-8": lambda draw, line: line[:5] + b"\xff\xfe" + line[5:],
    "wrong type": lambda draw, line: line.replace(b'"quantity": ', b'"quantity": "x'),
    "extra": lambda draw, line: line[:-1] + b', "' + draw(WORD).encode() + b'": 1}',
}


@st.composite
def jsonl_file(draw: st.DrawFn) -> bytes:
    rows = shipment_rows(random.Random(draw(st.integers(0, 2**32))), draw(st.integers(1, 40)))
    lines = []
    for row in rows:
        line = json.dumps(row, default=str).encode()
        kind = draw(st.sampled_from(["ok"] * 5 + sorted(LINE_DAMAGE) + ["blank"]))
        lines.append(
            b"  " if kind == "blank" else LINE_DAMAGE.get(kind, lambda d, x: x)(draw, line)
        )
    return b"\n".join(lines) + b"\n"


EVENTS = ["v1"] * 4 + ["v2"] * 2 + ["unknown id", "unframed", "truncated", "flipped", "empty"]


@st.composite
def inputs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "csv": draw(st.lists(csv_file(), min_size=2, max_size=6)),
        "jsonl": draw(st.lists(jsonl_file(), min_size=1, max_size=4)),
        "events": draw(
            st.lists(
                st.tuples(st.sampled_from(EVENTS), st.integers(0, 2**32)), min_size=50, max_size=250
            )
        ),  # fmt: skip
    }


def _event(kind: str, seed: int, encode: Callable[[int, dict[str, Any]], bytes]) -> bytes:
    rng = random.Random(seed)
    value = encode(2, sale(rng, coupon=True)) if kind == "v2" else encode(1, sale(rng))
    if kind == "unknown id":
        return struct.pack(">bI", 0, 900_000 + seed % 1000) + value[5:]
    if kind == "unframed":
        return json.dumps(sale(rng), default=str).encode()
    if kind == "truncated":
        return value[: rng.randrange(0, len(value))]
    if kind == "flipped":
        at = rng.randrange(5, len(value))
        return value[:at] + bytes([value[at] ^ rng.randrange(1, 256)]) + value[at + 1 :]
    return b"" if kind == "empty" else value


def _land(root: Layout, drawn: dict[str, Any], run: str) -> dict[str, int | None]:
    """Writes the files (hidden name, then renamed); their expected row counts by name."""
    expected: dict[str, int | None] = {}
    files = [("inventory", "csv", d, n) for d, n in drawn["csv"]] + [
        ("shipments", "jsonl", d, sum(1 for ln in d.splitlines() if ln.strip()))
        for d in drawn["jsonl"]
    ]
    for i, (dataset, ext, data, rows) in enumerate(files):
        folder = root.landing(dataset)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{dataset}-{run}-{i:03d}.{ext}"
        (folder / f".{name}.tmp").write_bytes(data)
        (folder / f".{name}.tmp").rename(folder / name)
        expected[name] = rows
    return expected


def _produce(here: Settings, url: str, drawn: dict[str, Any]) -> int:
    """The drawn events, good ones encoded by confluent-kafka's serializer (schema v1 or v2)."""
    topic = here.topic("lakehouse.sales")
    context = SerializationContext(topic, MessageField.VALUE)
    serializers = {v: serializer(url, schema_file(v)) for v in (1, 2)}

    def encode(version: int, record: dict[str, Any]) -> bytes:
        return bytes(serializers[version](record, context))

    producer = Producer({"bootstrap.servers": here.kafka_bootstrap})
    for kind, seed in drawn["events"]:
        producer.produce(topic, _event(kind, seed, encode))
    assert producer.flush(30) == 0
    return len(drawn["events"])


def _table(path: Path) -> pd.DataFrame:
    return (
        DeltaTable(str(path)).to_pandas() if DeltaTable.is_deltatable(str(path)) else pd.DataFrame()
    )


def _run(settings: Settings, admin: Any, drawn: dict[str, Any]) -> tuple[Layout, dict[str, Any]]:
    """One pipeline run over the drawn inputs, in a data folder and topics of its own."""
    run = uuid.uuid4().hex[:6]
    here = settings.model_copy(
        update={
            "topic_prefix": f"lz{run}.",
            "data_dir": settings.data_dir / f"lakehouse-fuzz-{run}",
            "lakehouse_max_file_mb": MAX_FILE_MB,
            "max_offsets_per_trigger": 100,
        }
    )
    layout = Layout.of(here)
    files = _land(layout, drawn, run)
    admin.create(here.topic("lakehouse.sales"), 2)
    with registry_url(here) as url:
        events = _produce(here, url, drawn)
        run_pipeline(lakehouse_pipeline(here, url, DATASETS), here, once=True)
    return layout, {"files": files, "events": events, "topic": here.topic("lakehouse.sales")}


def _bronze_accounts_for_every_input(layout: Layout, sent: dict[str, Any]) -> None:
    quarantine = _table(layout.quarantine)
    at_bronze = quarantine[quarantine["layer"] == "bronze"] if len(quarantine) else quarantine
    sources = Counter(at_bronze["source"]) if len(at_bronze) else Counter()
    assert not [s for s, n in sources.items() if n > 1], "an input quarantined twice"
    whole = {Path(s).name for s in sources if not s.rpartition(":")[2].isdigit()}
    lines = Counter(
        Path(s.rpartition(":")[0]).name for s in sources if s.rpartition(":")[2].isdigit()
    )
    for dataset in ("inventory", "shipments"):
        bronze = _table(layout.table("bronze", dataset))
        if len(bronze):
            assert not bronze.duplicated(["_source_file", "_row"]).any(), dataset
        landed = Counter(Path(f).name for f in bronze.get("_source_file", []))
        for name, rows in sent["files"].items():
            if not name.startswith(dataset):
                continue
            found = landed[name] + lines[name]
            assert name in whole or found > 0, f"{name}: in neither bronze nor the quarantine"
            if rows is not None and name not in whole:
                assert found == rows, f"{name}: {rows} rows sent, {found} in bronze + quarantine"
    sales = _table(layout.table("bronze", "sales"))
    events = Counter(zip(sales.get("_partition", []), sales.get("_offset", []), strict=True))
    for s in sources:
        if s.startswith(f"{sent['topic']}/"):
            _, partition, offset = s.rsplit("/", 2)
            events[(int(partition), int(offset))] += 1
    assert sum(events.values()) == sent["events"] and set(events.values()) <= {1}


def _sources(bronze: pd.DataFrame, dataset: str) -> pd.Series:
    """A bronze row's source as the quarantine names it: file:row, or topic/partition/offset."""
    if dataset != "sales":
        return bronze["_source_file"] + ":" + bronze["_row"].astype(str)
    partition, offset = bronze["_partition"].astype(str), bronze["_offset"].astype(str)
    return bronze["_topic"] + "/" + partition + "/" + offset


def _silver_accounts_for_every_bronze_row(layout: Layout) -> None:
    quarantine = _table(layout.quarantine)
    failed = (
        set(quarantine[quarantine["layer"] == "silver"]["source"]) if len(quarantine) else set()
    )
    for dataset, keys in KEYS.items():
        bronze, silver = (
            _table(layout.table("bronze", dataset)),
            _table(layout.table("silver", dataset)),
        )
        if not len(bronze):
            continue
        source = _sources(bronze, dataset)
        kept = set(map(tuple, silver[keys].astype(str).values)) if len(silver) else set()
        for src, key in zip(source, map(tuple, bronze[keys].astype(str).values), strict=True):
            assert src in failed or key in kept, f"{dataset} {src}: in bronze, not in silver"


def test_every_fuzzed_line_and_event_lands_or_is_quarantined_once(
    settings: Settings,
    bootstrap: str,
    admin: Any,
    spark: object,
    reliability: Callable[..., None],
) -> None:
    tally = Tally()
    here = settings.model_copy(update={"kafka_bootstrap": bootstrap})

    @batches(examples=3)
    @given(drawn=inputs())
    def accounted(drawn: dict[str, Any]) -> None:
        layout, sent = _run(here, admin, drawn)
        _bronze_accounts_for_every_input(layout, sent)
        _silver_accounts_for_every_bronze_row(layout)
        tally.add(sum(n or 1 for n in sent["files"].values()) + sent["events"])

    accounted()
    reliability("lakehouse", fuzz_cases=tally.cases, fuzz_runs=tally.examples)
    assert tally.examples == 3
