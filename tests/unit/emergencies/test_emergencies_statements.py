"""The routes file: statements split with their lines, shape errors named by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from caudal.pipelines.emergencies.incidents import AREAS
from caudal.pipelines.emergencies.statements import (
    SHIPPED,
    RouteError,
    parse_routes,
    split_statements,
)


def test_the_shipped_file_has_one_stream_per_output_topic() -> None:
    routes = parse_routes(SHIPPED)
    topics = {r.topic for r in routes}
    expected = {"emergencias.sanitarios", "emergencias.centro_mando"}
    expected |= {f"emergencias.area.{a}" for a in AREAS}
    assert topics == expected
    medical = next(r for r in routes if r.topic == "emergencias.sanitarios")
    assert "nearest_hospital(lat, lon)" in medical.select
    lines = SHIPPED.read_text().splitlines()
    for r in routes:
        assert lines[r.line - 1].startswith(f"CREATE STREAM {r.name} ")
        assert "SELECT" in lines[r.select_line - 1]


def test_prefix_goes_in_front_of_every_topic() -> None:
    assert all(r.topic.startswith("t1.emergencias.") for r in parse_routes(SHIPPED, "t1."))


def test_semicolons_in_strings_and_comments_do_not_split() -> None:
    text = (
        "-- a comment; with a semicolon\n"
        "\n"
        "CREATE STREAM a WITH (kafka_topic='x') AS\n"
        "  SELECT * FROM avisos WHERE descripcion = 'a;b';  -- trailing; comment\n"
        "CREATE STREAM b WITH (kafka_topic='y') AS SELECT * FROM avisos\n"
    )
    statements = split_statements(text)
    assert [line for line, _ in statements] == [3, 5]
    assert statements[0][1].endswith("descripcion = 'a;b'")
    assert statements[1][1].endswith("FROM avisos")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routes.sql"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\n\nCREATE STREM a WITH (kafka_topic='x') AS SELECT 1;", "line 3: not a `CREATE STREAM"),
        ("CREATE STREAM a AS SELECT * FROM avisos;", "line 1: not a `CREATE STREAM"),
        ("CREATE STREAM a WITH (partitions='2') AS SELECT * FROM avisos;", "line 1: unsupported"),
        ("CREATE STREAM a WITH (value_format='JSON') AS SELECT 1;", "kafka_topic='...') is req"),
        ("CREATE STREAM a WITH (kafka_topic='x', value_format='AVRO') AS SELECT 1;", "only value"),
        ("CREATE STREAM a WITH (kafka_topic=x) AS SELECT 1;", "cannot read WITH property"),
        ("CREATE STREAM a WITH (kafka_topic='x') AS DELETE FROM avisos;", "expected SELECT"),
        (
            "CREATE STREAM a WITH (kafka_topic='x') AS SELECT * FROM avisos;\n"
            "CREATE STREAM b WITH (kafka_topic='x') AS SELECT * FROM avisos;",
            "line 2: topic 'x' already used on line 1",
        ),
        (
            "CREATE STREAM a WITH (kafka_topic='x') AS SELECT * FROM avisos;\n"
            "CREATE STREAM a WITH (kafka_topic='y') AS SELECT * FROM avisos;",
            "line 2: name 'a' already used on line 1",
        ),
        ("-- nothing here\n", "has no CREATE STREAM statement"),
        (
            "CREATE STREAM a WITH (kafka_topic='x') AS\n  SELECT 1;",
            "line 2 (stream a): a stream is SELECT <columns> FROM avisos [WHERE <condition>]",
        ),
    ],
)
def test_malformed_files_are_refused_with_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(RouteError) as err:
        parse_routes(path)
    assert message in err.value.reason and str(path) in err.value.reason
    assert "CAUDAL_EMERGENCIES_ROUTES" in (err.value.hint or "")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RouteError, match="does not exist"):
        parse_routes(tmp_path / "nope.sql")
