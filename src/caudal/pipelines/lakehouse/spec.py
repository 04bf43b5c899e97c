"""The declared lakehouse: datasets and gold tables read from YAML and checked before any run.

Every mistake in the file is reported as one ``CaudalError`` naming the dataset and the key, so
a typo never surfaces later as a Spark stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from caudal.errors import CaudalError
from caudal.pipelines.lakehouse.settings import LakehouseSettings
from caudal.settings import Settings

SHIPPED = Path(__file__).with_name("datasets.yaml")
TYPES = {"string", "int", "long", "double", "boolean", "date", "timestamp"}
FORMATS = {"csv", "json", "parquet"}
RULES = {"not_null", "range", "allowed", "references", "expr"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    optional: bool = False


@dataclass(frozen=True)
class Expectation:
    rule: str
    column: str | None = None
    name: str = ""
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()
    dataset: str | None = None
    sql: str | None = None

    @property
    def label(self) -> str:
        """The rule as quarantine rows name it, e.g. ``range(stock_units)``."""
        return self.name or f"{self.rule}({self.column})"


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    event_time: str
    landing: str | None = None
    format: str | None = None
    topic: str | None = None
    subject: str | None = None
    expectations: tuple[Expectation, ...] = ()
    transform: str | None = None

    @property
    def is_stream(self) -> bool:
        return self.topic is not None

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def registry_subject(self, topic: str) -> str:
        """The subject of the values on ``topic``, this dataset's topic as the settings name it
        (prefix included): a subject declared as ``<topic>-value`` (Confluent's default
        TopicNameStrategy, what producers register under) follows the topic's real name."""
        if self.subject == f"{self.topic}-value":
            return f"{topic}-value"
        return str(self.subject)


@dataclass(frozen=True)
class Gold:
    name: str
    inputs: tuple[str, ...]
    sql: str


@dataclass(frozen=True)
class Lakehouse:
    datasets: dict[str, Dataset]
    gold: dict[str, Gold] = field(default_factory=dict)

    def gold_for(self, dataset: str) -> list[Gold]:
        """The gold tables to refresh when ``dataset``'s silver table changes."""
        return [g for g in self.gold.values() if dataset in g.inputs]


def configured(settings: Settings) -> Lakehouse:
    """The datasets file the settings name (``CAUDAL_LAKEHOUSE_DATASETS``), read and checked."""
    return load(LakehouseSettings.of(settings).datasets)


def load(path: Path | None = None) -> Lakehouse:
    """Read and check a datasets file (the shipped one by default)."""
    source = path or SHIPPED
    try:
        raw = yaml.safe_load(source.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CaudalError(f"cannot read datasets file {source}: {exc}", _HINT) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("datasets"), dict):
        raise CaudalError(f"{source}: no 'datasets' mapping at the top", _HINT)
    datasets = {name: _dataset(name, body or {}) for name, body in raw["datasets"].items()}
    gold = {
        name: _gold(name, body or {}, datasets) for name, body in (raw.get("gold") or {}).items()
    }
    for ds in datasets.values():
        for e in ds.expectations:
            if e.rule == "references" and e.dataset not in datasets:
                _fail(ds.name, f"expectation {e.label} references unknown dataset {e.dataset}")
    return Lakehouse(datasets, gold)


_HINT = (
    "fix the file (see docs/lakehouse.md for its keys) or point CAUDAL_LAKEHOUSE_DATASETS elsewhere"
)


def _fail(dataset: str, message: str) -> None:
    raise CaudalError(f"dataset {dataset}: {message}", _HINT)


def _dataset(name: str, body: dict[str, Any]) -> Dataset:
    source = body.get("source") or {}
    columns = tuple(
        Column(col, str((spec or {}).get("type", "")), bool((spec or {}).get("optional", False)))
        for col, spec in (body.get("columns") or {}).items()
    )
    if not columns:
        _fail(name, "no columns declared")
    for col in columns:
        if col.type not in TYPES:
            _fail(name, f"column {col.name} has type {col.type!r}; use one of {sorted(TYPES)}")
    names = {c.name for c in columns}
    keys = tuple(body.get("primary_key") or ())
    event_time = str(body.get("event_time", ""))
    for needed in (*keys, event_time):
        if needed not in names:
            _fail(name, f"key or event_time column {needed!r} is not a declared column")
    if not keys:
        _fail(name, "no primary_key")
    if "landing" in source and source.get("format") not in FORMATS:
        _fail(name, f"landing format must be one of {sorted(FORMATS)}")
    if ("landing" in source) == ("topic" in source):
        _fail(name, "source needs either landing (+ format) or topic (+ subject)")
    expectations = tuple(_expectation(name, e, names) for e in body.get("expectations") or ())
    return Dataset(
        name,
        columns,
        keys,
        event_time,
        landing=source.get("landing"),
        format=source.get("format"),
        topic=source.get("topic"),
        subject=source.get("subject")
        or (f"{source['topic']}-value" if "topic" in source else None),
        expectations=expectations,
        transform=body.get("transform"),
    )


def _expectation(dataset: str, body: dict[str, Any], names: set[str]) -> Expectation:
    rule = body.get("rule")
    if rule not in RULES:
        _fail(dataset, f"expectation rule {rule!r}; use one of {sorted(RULES)}")
    column = body.get("column")
    if rule != "expr" and column not in names:
        _fail(dataset, f"expectation {rule} on undeclared column {column!r}")
    if rule == "expr" and not (body.get("sql") and body.get("name")):
        _fail(dataset, "an expr expectation needs a name and sql")
    if rule == "range" and body.get("min") is None and body.get("max") is None:
        _fail(dataset, f"range({column}) needs min or max")
    return Expectation(
        rule=str(rule),
        column=column,
        name=str(body.get("name", "")),
        min=body.get("min"),
        max=body.get("max"),
        values=tuple(str(v) for v in body.get("values") or ()),
        dataset=body.get("dataset"),
        sql=body.get("sql"),
    )


def _gold(name: str, body: dict[str, Any], datasets: dict[str, Dataset]) -> Gold:
    inputs = tuple(body.get("inputs") or ())
    unknown = [i for i in inputs if i not in datasets]
    if not inputs or unknown or not body.get("sql"):
        raise CaudalError(
            f"gold table {name}: needs sql and known inputs (unknown: {unknown})", _HINT
        )
    return Gold(name, inputs, str(body["sql"]))
