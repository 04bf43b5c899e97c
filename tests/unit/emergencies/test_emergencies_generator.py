"""Generated calls are coherent, chronological, unique, located in Spain and valid."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from caudal.pipelines.emergencies.calls import FIELDS, validated
from caudal.pipelines.emergencies.generator import CallGenerator
from caudal.pipelines.emergencies.places import haversine_km, municipalities

N = 5_000
NO_FIREFIGHTERS = {"robo", "atraco", "rina", "ruido", "toma_rehenes", "violencia_genero"}
SPECIAL_UNIT_INCIDENTS = {"atraco", "toma_rehenes"}


@pytest.fixture(scope="module")
def calls() -> list[dict]:
    generator = CallGenerator(seed=7)
    return [generator.call() for _ in range(N)]


def test_services_fit_the_incident_and_its_urgency(calls: list[dict]) -> None:
    for c in calls:
        sent = set(c["cuerpos"])
        if c["tipo"] in NO_FIREFIGHTERS:
            assert "bomberos" not in sent, c
        if "geos" in sent:
            assert c["urgencia"] == "critica" and c["tipo"] in SPECIAL_UNIT_INCIDENTS, c
        if c["tipo"] == "toma_rehenes":
            assert "geos" in sent, c
        assert c["servicio"] in sent and len(sent) == len(c["cuerpos"])
        assert c["necesita_medico"] == ("sanitarios" in sent) or c["servicio"] == "sanitarios"


def test_urgency_and_medical_need_fit_the_incident(calls: list[dict]) -> None:
    for c in calls:
        if c["tipo"] == "parada_cardiaca":
            assert c["urgencia"] == "critica" and c["necesita_medico"], c
        if c["tipo"] in {"ruido"}:
            assert c["urgencia"] == "baja" and not c["necesita_medico"], c
        if c["tipo"] in {"robo", "ruido", "animales_calzada"}:
            assert c["urgencia"] in {"baja", "media"}, c
        assert (c["heridos"] > 0) == c["necesita_medico"], c
    urgencies = {c["urgencia"] for c in calls}
    assert urgencies == {"baja", "media", "alta", "critica"}


def test_times_are_chronological_and_ids_unique(calls: list[dict]) -> None:
    times = [datetime.fromisoformat(c["fecha"]) for c in calls]
    assert all(a < b for a, b in zip(times, times[1:], strict=False))
    assert all(t.tzinfo is not None for t in times)
    assert len({c["id_aviso"] for c in calls}) == N
    other_run = CallGenerator(seed=7).call()
    assert other_run["id_aviso"] not in {c["id_aviso"] for c in calls}


def test_calls_come_from_real_municipalities_near_their_centre(calls: list[dict]) -> None:
    towns = municipalities().set_index("municipio")
    for c in calls:
        town = towns.loc[c["municipio"]]
        assert town["provincia"] == c["provincia"]
        assert haversine_km(c["lat"], c["lon"], town["lat"], town["lon"]) < 25
    assert len({c["municipio"] for c in calls}) > 40


def test_every_generated_call_passes_validation_unchanged(spark, calls: list[dict]) -> None:  # type: ignore[no-untyped-def]
    records = spark.createDataFrame(
        [(json.dumps(c).encode(), 0, i) for i, c in enumerate(calls)],
        "value binary, partition int, offset long",
    )
    rows = validated(records).orderBy("desplazamiento").collect()
    assert [r["motivo"] for r in rows] == [None] * N
    assert [{f: r[f] for f in FIELDS} for r in rows] == calls


def test_same_seed_same_calls_apart_from_time_and_id() -> None:
    volatile = {"id_aviso", "fecha"}
    first, second = CallGenerator(seed=3), CallGenerator(seed=3)
    a = [first.call() for _ in range(50)]
    b = [second.call() for _ in range(50)]
    assert [{k: v for k, v in c.items() if k not in volatile} for c in a] == [
        {k: v for k, v in c.items() if k not in volatile} for c in b
    ]
