"""Validation: each kind of bad input has its one-line reason; good calls pass unchanged.

The checks are Spark SQL expressions, so every value below goes through a real local
session, all of them in one batch (as a micro-batch would carry them).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pyspark.sql import Row

from caudal.pipelines.emergencies.calls import FIELDS, VALIDATED_SCHEMA, validated
from caudal.pipelines.emergencies.feed import BREAKAGES
from caudal.pipelines.emergencies.generator import CallGenerator

EXPECTED = {
    "truncated JSON": "not JSON",
    "missing field": "missing field(s): urgencia",
    "unknown urgency": "urgencia: unknown value 'urgentisima'",
    "outside Spain": "coordinates (48.8566, 2.3522) are outside Spain",
    "unknown field": "unknown field(s): matricula",
    "wrong type": "heridos: must be a whole number",
}
FIELD_RULES: list[tuple[dict[str, Any], str | None]] = [
    ({"lat": 28.1235, "lon": -15.4363}, None),  # Las Palmas: Canary Islands are Spain
    ({"lat": 35.2923, "lon": -2.9381}, None),  # Melilla
    ({"lat": 40, "lon": -4}, None),  # whole numbers are numbers
    ({"fecha": "2026-01-01T10:00:00Z"}, None),
    ({"fecha": "2026-01-01 10:00:00.5-03:00"}, None),
    ({"lat": 38.72, "lon": -30.0}, "coordinates (38.72, -30.0) are outside Spain"),  # Azores
    ({"heridos": True}, "heridos: must be a whole number from 0"),
    ({"heridos": -1}, "heridos: must be a whole number from 0"),
    ({"heridos": 2.5}, "heridos: must be a whole number from 0"),
    ({"heridos": "2"}, "heridos: must be a whole number from 0"),
    ({"cuerpos": []}, "cuerpos: must be a non-empty list of services"),
    ({"cuerpos": "bomberos"}, "cuerpos: must be a non-empty list of services"),
    ({"cuerpos": ["bomberos", "ovnis", 3]}, "cuerpos: unknown service(s) ['ovnis', '3']"),
    ({"tipo": ["robo"]}, """tipo: unknown value '["robo"]'"""),
    ({"servicio": None}, "servicio: unknown value null"),
    ({"fecha": "ayer"}, "fecha: 'ayer' is not an ISO-8601 timestamp"),
    ({"fecha": "2026-13-01T10:00:00Z"}, "fecha: '2026-13-01T10:00:00Z' is not an ISO-8601"),
    ({"fecha": "2026-01-01T10:00:00"}, "fecha: '2026-01-01T10:00:00' has no time zone"),
    ({"fecha": None}, "fecha: must be an ISO-8601 timestamp string"),
    ({"fecha": 1767261600}, "fecha: '1767261600' is not an ISO-8601 timestamp"),
    ({"necesita_medico": "si"}, "necesita_medico: must be true or false"),
    ({"lat": "40.4"}, "lat: must be a number"),
    ({"id_aviso": ""}, "id_aviso: must be a non-empty string"),
    ({"municipio": " \t"}, "municipio: must be a non-empty string"),
    ({"descripcion": 112}, "descripcion: must be a non-empty string"),
]
NOT_OBJECTS: list[tuple[bytes | None, str]] = [
    (None, "empty record (no value)"),
    (b"", "not JSON"),
    (b"{oops", "not JSON"),
    (b"\xff\xfe", "not JSON: not UTF-8 text"),
    (b"[1, 2]", "not a JSON object but array"),
    (b'"a call"', "not a JSON object but string"),
    (b"null", "not a JSON object but null"),
    (b"{'id_aviso': 'a'}", "not JSON"),  # single quotes are not JSON
]


def _twice(call: dict[str, Any], field: str, value: Any) -> bytes:
    """The call with ``field`` named a second time, last (``json.dumps`` cannot write it)."""
    return (json.dumps(call)[:-1] + f", {json.dumps(field)}: {json.dumps(value)}}}").encode()


@pytest.fixture(scope="module")
def call() -> dict[str, Any]:
    return CallGenerator(seed=1).call()


def _changed(call: dict[str, Any], change: dict[str, Any]) -> bytes:
    return json.dumps({**call, **change}).encode()


@pytest.fixture(scope="module")
def checked(spark, call: dict[str, Any]) -> dict[bytes | None, Row]:  # type: ignore[no-untyped-def]
    """Every value the tests look at → its validated row, from one Spark job."""
    values = [
        json.dumps(call).encode(),
        *(breakage(call) for breakage in BREAKAGES.values()),
        *(_changed(call, change) for change, _ in FIELD_RULES),
        *(value for value, _ in NOT_OBJECTS),
    ]
    rows = validate(spark, values)
    return {value: row for value, row in zip(values, rows, strict=True)}


def validate(spark, values: list[bytes | None]) -> list[Row]:  # type: ignore[no-untyped-def]
    """Values as Kafka rows (partition 0, offsets 0..n-1) → validated rows in offset order."""
    records = spark.createDataFrame(
        [(v, 0, i) for i, v in enumerate(values)], "value binary, partition int, offset long"
    )
    return validated(records).orderBy("desplazamiento").collect()


def test_output_has_the_validated_schema(spark) -> None:  # type: ignore[no-untyped-def]
    expected = spark.createDataFrame([], VALIDATED_SCHEMA).dtypes
    assert (
        validated(spark.createDataFrame([], "value binary, partition int, offset long")).dtypes
        == expected
    )


def test_a_valid_call_comes_out_typed_and_unchanged(
    checked: dict[bytes | None, Row], call: dict[str, Any]
) -> None:
    row = checked[json.dumps(call).encode()]
    assert row["motivo"] is None and row["valor"] is None
    assert {f: row[f] for f in FIELDS} == call


@pytest.mark.parametrize("kind", sorted(BREAKAGES))
def test_each_breakage_of_the_feed_is_rejected_with_its_reason(
    kind: str, checked: dict[bytes | None, Row], call: dict[str, Any]
) -> None:
    row = checked[BREAKAGES[kind](call)]
    assert row["motivo"] is not None and EXPECTED[kind] in row["motivo"]
    assert all(row[f] is None for f in FIELDS if f != "id_aviso")


@pytest.mark.parametrize(("change", "reason"), FIELD_RULES)
def test_field_rules(
    change: dict[str, Any],
    reason: str | None,
    checked: dict[bytes | None, Row],
    call: dict[str, Any],
) -> None:
    row = checked[_changed(call, change)]
    if reason is None:
        assert row["motivo"] is None
        assert {f: row[f] for f in FIELDS} == {**call, **change}
    else:
        assert row["motivo"] is not None and row["motivo"].startswith(reason), row["motivo"]


@pytest.mark.parametrize(("value", "reason"), NOT_OBJECTS)
def test_what_is_not_a_call_object_is_told_apart(
    value: bytes | None, reason: str, checked: dict[bytes | None, Row]
) -> None:
    row = checked[value]
    assert row["motivo"] == reason and row["id_aviso"] is None


def test_a_field_named_twice_is_refused(spark, call: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    # Python's json would keep the last value; which one the caller meant is unknown
    rows = validate(spark, [_twice(call, "heridos", 7), _twice(call, "municipio", 5)])
    assert [r["motivo"] for r in rows] == ["a field is named more than once"] * 2


def test_batch_keeps_the_id_and_source_of_rejected_records(spark, call: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    values = [json.dumps(call).encode(), BREAKAGES["outside Spain"](call), b"{oops", b"\xff{"]
    rows = validate(spark, values)
    assert [r["motivo"] is None for r in rows] == [True, False, False, False]
    assert rows[0]["id_aviso"] == call["id_aviso"] and rows[0]["valor"] is None
    assert rows[1]["id_aviso"] == call["id_aviso"] and "outside Spain" in rows[1]["motivo"]
    assert rows[1]["valor"] == BREAKAGES["outside Spain"](call).decode()
    assert rows[2]["id_aviso"] is None and rows[2]["valor"] == "{oops"
    assert rows[3]["valor"] == "\ufffd{"  # undecodable bytes replaced, as Python's "replace"
    assert [r["particion"] for r in rows] == [0] * 4
    assert [r["desplazamiento"] for r in rows] == [0, 1, 2, 3]
