"""Validation: each kind of bad input has its one-line reason; good calls pass unchanged."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from caudal.pipelines.emergencies.calls import FIELDS, check_call, validate_batches
from caudal.pipelines.emergencies.feed import BREAKAGES
from caudal.pipelines.emergencies.generator import CallGenerator

EXPECTED = {
    "truncated JSON": "not JSON",
    "missing field": "missing field(s): urgencia",
    "unknown urgency": "urgencia: unknown value 'urgentisima'",
    "outside Spain": "outside Spain",
    "unknown field": "unknown field(s): matricula",
    "wrong type": "heridos: must be a whole number",
}


@pytest.fixture
def call() -> dict:
    return CallGenerator(seed=1).call()


@pytest.mark.parametrize("kind", sorted(BREAKAGES))
def test_each_breakage_of_the_feed_is_rejected_with_its_reason(kind: str, call: dict) -> None:
    parsed, reason = check_call(BREAKAGES[kind](call))
    assert parsed is None
    assert reason is not None and EXPECTED[kind] in reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"lat": 28.1235, "lon": -15.4363}, None),  # Las Palmas: Canary Islands are Spain
        ({"lat": 35.2923, "lon": -2.9381}, None),  # Melilla
        ({"lat": 38.72, "lon": -30.0}, "outside Spain"),  # Azores
        ({"heridos": True}, "heridos"),
        ({"heridos": -1}, "heridos"),
        ({"cuerpos": []}, "cuerpos"),
        ({"cuerpos": ["bomberos", "ovnis"]}, "unknown service(s) ['ovnis']"),
        ({"tipo": ["robo"]}, "tipo: unknown value"),
        ({"fecha": "ayer"}, "not an ISO-8601"),
        ({"fecha": "2026-01-01T10:00:00"}, "no time zone"),
        ({"necesita_medico": "si"}, "necesita_medico"),
        ({"lat": "40.4"}, "lat: must be a number"),
        ({"id_aviso": ""}, "id_aviso"),
    ],
)
def test_field_rules(call: dict, change: dict, reason: str | None) -> None:
    parsed, problem = check_call(json.dumps({**call, **change}).encode())
    if reason is None:
        assert problem is None and parsed is not None
    else:
        assert parsed is None and problem is not None and reason in problem


@pytest.mark.parametrize("value", [None, b"", b"[1, 2]", b"\xff\xfe", b"null"])
def test_non_objects_are_rejected(value: bytes | None) -> None:
    parsed, reason = check_call(value)
    assert parsed is None and reason


def test_batch_keeps_the_id_and_source_of_rejected_records(call: dict) -> None:
    values = [json.dumps(call).encode(), BREAKAGES["outside Spain"](call), b"{oops"]
    batch = pd.DataFrame({"value": values, "partition": [0, 1, 1], "offset": [5, 6, 7]})
    out = next(validate_batches(iter([batch])))
    assert out["motivo"].isna().tolist() == [True, False, False]
    assert out.loc[0, FIELDS].to_dict()["id_aviso"] == call["id_aviso"]
    assert out.loc[1, "id_aviso"] == call["id_aviso"] and "outside Spain" in out.loc[1, "motivo"]
    assert out.loc[2, "id_aviso"] is None and out.loc[2, "valor"] == "{oops"
    assert out["desplazamiento"].tolist() == [5, 6, 7]
