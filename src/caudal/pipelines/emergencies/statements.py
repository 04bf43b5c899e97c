"""The routes file: ksqlDB-style ``CREATE STREAM ... AS SELECT ...`` statements.

Each statement names one output stream and its topic and selects from ``avisos`` (the valid
input calls)::

    CREATE STREAM centro_mando WITH (kafka_topic='emergencias.centro_mando') AS
      SELECT * FROM avisos WHERE urgencia IN ('alta', 'critica') AND NOT necesita_medico;

The SELECT is Spark SQL, in the shape of ksqlDB's persistent queries:
``SELECT <columns> FROM avisos [WHERE <condition>]``. This module splits the file into
statements (keeping the line each starts on) and checks their shape; ``check_with_spark`` then
has Spark analyse every SELECT against an empty ``avisos`` so a typo or a missing column is
refused before anything runs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from caudal.errors import CaudalError
from caudal.pipelines.emergencies.calls import CALL_SCHEMA, KEY

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SHIPPED = Path(__file__).resolve().parent / "routes.sql"
INPUT_VIEW = "avisos"
_CREATE = re.compile(
    r"CREATE\s+STREAM\s+(?P<name>[A-Za-z_]\w*)\s+WITH\s*\((?P<props>[^)]*)\)\s+AS\s+(?P<select>.*)",
    re.IGNORECASE | re.DOTALL,
)
_PROP = re.compile(r"\s*(?P<key>\w+)\s*=\s*'(?P<value>[^']*)'\s*")
ALLOWED_PROPS = {"kafka_topic", "value_format"}
_SELECT = re.compile(
    r"SELECT\s+(?P<columns>.+?)\s+FROM\s+(?P<source>\S+)(?:\s+WHERE\s+(?P<condition>.+))?",
    re.IGNORECASE | re.DOTALL,
)


class RouteError(CaudalError):
    """A routes file that cannot run; the reason names the file and line."""


@dataclass(frozen=True)
class Route:
    name: str
    topic: str
    select: str
    line: int
    """Line of the file where the statement starts."""
    select_line: int
    """Line where its SELECT starts (Spark's own line numbers count from there)."""
    columns: str = "*"
    """What the SELECT lists: the routed record's fields."""
    condition: str = "true"
    """Its WHERE clause: which valid calls the stream takes."""


def _hint(path: Path) -> str:
    return f"fix the statement in {path} (or point CAUDAL_EMERGENCIES_ROUTES at another file)"


def split_statements(text: str) -> list[tuple[int, str]]:
    """``(start line, statement)`` per ``;``-terminated statement; comments and quotes kept
    out of the split (a ``;`` inside a string or after ``--`` ends nothing)."""
    statements: list[tuple[int, str]] = []
    current: list[str] = []
    start, line, quoted, comment = 0, 1, False, False
    for i, ch in enumerate(text):
        if comment:
            comment = ch != "\n"
        elif ch == "'":
            quoted = not quoted
        elif not quoted and text.startswith("--", i):
            comment = True
        if ch == "\n":
            line += 1
        if comment:
            continue
        if not current and ch.isspace():
            continue
        if not current:
            start = line
        if ch == ";" and not quoted:
            statements.append((start, "".join(current).strip()))
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        statements.append((start, "".join(current).strip()))
    return statements


def parse_routes(path: Path, prefix: str = "") -> list[Route]:
    """Every statement of ``path``, topics with ``prefix`` in front; ``RouteError`` if any
    statement is not a well-formed ``CREATE STREAM`` (or names a stream or topic twice)."""
    if not path.is_file():
        raise RouteError(f"routes file {path} does not exist", _hint(path))
    text = path.read_text()
    routes: list[Route] = []
    for line, statement in split_statements(text):
        routes.append(_parse_one(path, line, statement, prefix))
    if not routes:
        raise RouteError(f"{path} has no CREATE STREAM statement", _hint(path))
    for attr in ("name", "topic"):
        seen: dict[str, int] = {}
        for r in routes:
            value = getattr(r, attr)
            if value in seen:
                raise RouteError(
                    f"{path} line {r.line}: {attr} {value!r} already used on line {seen[value]}",
                    _hint(path),
                )
            seen[value] = r.line
    return routes


def _parse_one(path: Path, line: int, statement: str, prefix: str) -> Route:
    where = f"{path} line {line}"
    match = _CREATE.fullmatch(statement)
    if match is None:
        raise RouteError(
            f"{where}: not a `CREATE STREAM name WITH (kafka_topic='...') AS SELECT ...` "
            f"statement: {statement[:60]!r}",
            _hint(path),
        )
    props = {}
    for part in match["props"].split(","):
        prop = _PROP.fullmatch(part)
        if prop is None:
            raise RouteError(f"{where}: cannot read WITH property {part.strip()!r}", _hint(path))
        props[prop["key"].lower()] = prop["value"]
    unknown = set(props) - ALLOWED_PROPS
    if unknown:
        raise RouteError(f"{where}: unsupported WITH property {sorted(unknown)}", _hint(path))
    if not props.get("kafka_topic"):
        raise RouteError(f"{where}: WITH (kafka_topic='...') is required", _hint(path))
    if props.get("value_format", "JSON").upper() != "JSON":
        raise RouteError(f"{where}: only value_format='JSON' is supported", _hint(path))
    select = match["select"].strip()
    if not re.match(r"SELECT\b", select, re.IGNORECASE):
        raise RouteError(f"{where}: expected SELECT after AS", _hint(path))
    select_line = line + statement[: match.start("select")].count("\n")
    shape = _SELECT.fullmatch(select)
    if shape is None or shape["source"].lower() != INPUT_VIEW:
        source = f"reads {shape['source']}: " if shape else ""
        raise RouteError(
            f"{path} line {select_line} (stream {match['name']}): {source}a stream is "
            f"SELECT <columns> FROM {INPUT_VIEW} [WHERE <condition>]",
            _hint(path),
        )
    return Route(
        match["name"],
        prefix + props["kafka_topic"],
        select,
        line,
        select_line,
        shape["columns"],
        shape["condition"] or "true",
    )


_SPARK_LINE = re.compile(r"line (\d+)", re.IGNORECASE)


def check_with_spark(spark: SparkSession, routes: list[Route], path: Path) -> None:
    """Have Spark analyse every SELECT over an empty ``avisos``; the first failure is a
    ``RouteError`` with the file's line and Spark's reason. Each route must keep ``id_aviso``
    (the key every routed call is written and checked under)."""
    from pyspark.errors import PySparkException
    from pyspark.logger import PySparkLogger

    spark.createDataFrame([], CALL_SCHEMA).createOrReplaceTempView(INPUT_VIEW)
    # PySpark logs every analysis error with its stack; ours is reported as one line instead
    PySparkLogger.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    for route in routes:
        try:
            columns = spark.sql(route.select).columns
        except PySparkException as exc:
            reason = str(exc).strip().splitlines()[0]
            found = _SPARK_LINE.search(str(exc))
            line = route.select_line + int(found[1]) - 1 if found else route.line
            raise RouteError(
                f"{path} line {line} (stream {route.name}): {reason[:300]}", _hint(path)
            ) from exc
        if KEY not in columns:
            raise RouteError(
                f"{path} line {route.line} (stream {route.name}): the SELECT must keep {KEY}",
                _hint(path),
            )
