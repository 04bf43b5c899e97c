"""The shipped statements over real Spark: each call lands where the seed says it should.

The expected route is written here from the seed's rules, independently of routes.sql:
urgent + doctor → sanitarios (with the nearest hospital), other urgent → centro_mando,
non-urgent → the area of the service in charge; invalid input → the DLQ with its reason.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path

import pytest

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.pipelines.emergencies import enrichment
from caudal.pipelines.emergencies.calls import validated
from caudal.pipelines.emergencies.feed import BREAKAGES
from caudal.pipelines.emergencies.generator import CallGenerator
from caudal.pipelines.emergencies.places import nearest_hospitals
from caudal.pipelines.emergencies.routing import UNROUTED, routed
from caudal.pipelines.emergencies.statements import (
    SHIPPED,
    RouteError,
    check_with_spark,
    parse_routes,
)
from caudal.settings import Settings
from caudal.sinks.base import SinkContext
from caudal.sinks.kafka_topic import KafkaTopicSink

DLQ, MEDICAL = "emergencias.dlq", "emergencias.sanitarios"


def _expected(call: dict) -> str:
    if call["urgencia"] in ("alta", "critica"):
        return MEDICAL if call["necesita_medico"] else "emergencias.centro_mando"
    return f"emergencias.area.{call['servicio']}"


def _batch(spark, values: list[bytes]):  # type: ignore[no-untyped-def]
    records = spark.createDataFrame(
        [(v, 0, i) for i, v in enumerate(values)], "value binary, partition int, offset long"
    )
    return validated(records)


def _route(spark, routes, values):  # type: ignore[no-untyped-def]
    enrichment.register(spark)
    out = routed(_batch(spark, values), routes, "emergencias.avisos", DLQ)
    return [(r["topic"], r["key"], json.loads(r["value"])) for r in out.collect()]


def test_every_call_goes_to_the_route_the_seed_rules_give(spark) -> None:  # type: ignore[no-untyped-def]
    gen = CallGenerator(seed=21)
    calls = [gen.call() for _ in range(1500)]
    broken = [fn(gen.call()) for fn in BREAKAGES.values()]
    rows = _route(spark, parse_routes(SHIPPED), [json.dumps(c).encode() for c in calls] + broken)

    by_id = Counter(key for _, key, _ in rows if key)
    assert len(rows) == len(calls) + len(broken)
    routed = {key: (topic, value) for topic, key, value in rows if topic != DLQ}
    for call in calls:
        topic, value = routed[call["id_aviso"]]
        assert by_id[call["id_aviso"]] == 1
        assert topic == _expected(call), call
        assert {k: value[k] for k in call} == call
    medical = [(routed[c["id_aviso"]][1], c) for c in calls if _expected(c) == MEDICAL]
    assert len(medical) > 100
    for value, call in medical:
        nearest = nearest_hospitals([call["lat"]], [call["lon"]]).iloc[0]
        assert value["destino"]["hospital"] == nearest["hospital"]
        assert value["destino"]["distancia_km"] == pytest.approx(nearest["distancia_km"])
        assert value["destino"]["eta_min"] > 0
    assert all("destino" not in v for t, _, v in rows if t != MEDICAL)
    letters = [v for t, _, v in rows if t == DLQ]
    assert len(letters) == len(broken) and all(v["motivo"] for v in letters)
    assert {v["topic_origen"] for v in letters} == {"emergencias.avisos"}


def test_calls_no_statement_selects_become_dead_letters(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "routes.sql"
    path.write_text(
        "CREATE STREAM fuego WITH (kafka_topic='fuego') AS\n"
        "  SELECT * FROM avisos WHERE servicio = 'bomberos';\n"
    )
    gen = CallGenerator(seed=2)
    calls = [gen.call() for _ in range(300)]
    rows = _route(spark, parse_routes(path), [json.dumps(c).encode() for c in calls])
    fire = {c["id_aviso"] for c in calls if c["servicio"] == "bomberos"}
    assert {k for t, k, _ in rows if t == "fuego"} == fire
    letters = [v for t, _, v in rows if t == DLQ]
    assert len(letters) == len(calls) - len(fire) > 0
    assert {v["motivo"] for v in letters} == {UNROUTED}
    assert all(json.loads(v["valor"])["id_aviso"] == v["id_aviso"] for v in letters)


@pytest.mark.parametrize(
    ("select", "line", "reason"),
    [
        ("SELECT * FROM avisos\n  WHERE urgencia_nivel = 'alta'", 3, "urgencia_nivel"),
        ("SELECT * FROM avisos WHERE urgencia IN ('alta',", 2, "PARSE_SYNTAX_ERROR"),
        ("SELECT * FROM llamadas", 2, "llamadas"),
        ("SELECT * FROM avisos a JOIN avisos b USING (id_aviso)", 2, "a stream is SELECT"),
        ("SELECT tipo, urgencia FROM avisos", 1, "must keep id_aviso"),
        ("SELECT *, hospital_mas_cercano(lat, lon) AS d FROM avisos", 2, "hospital_mas_cercano"),
    ],
)
def test_a_bad_statement_is_refused_with_its_line_and_sparks_reason(  # type: ignore[no-untyped-def]
    spark, tmp_path: Path, select: str, line: int, reason: str
) -> None:
    path = tmp_path / "routes.sql"
    path.write_text(f"CREATE STREAM mala WITH (kafka_topic='mala') AS\n  {select};\n")
    enrichment.register(spark)
    with pytest.raises(RouteError) as err:
        check_with_spark(spark, parse_routes(path), path)
    assert f"{path} line {line} (stream mala)" in err.value.reason
    assert reason in err.value.reason
    assert "\n" not in err.value.reason


def test_the_shipped_statements_pass_the_check(spark) -> None:  # type: ignore[no-untyped-def]
    enrichment.register(spark)
    check_with_spark(spark, parse_routes(SHIPPED), SHIPPED)


def test_a_call_sharing_its_id_with_a_routed_call_is_still_a_dead_letter(  # type: ignore[no-untyped-def]
    spark, tmp_path: Path
) -> None:
    path = tmp_path / "routes.sql"
    path.write_text(
        "CREATE STREAM fuego WITH (kafka_topic='fuego') AS\n"
        "  SELECT * FROM avisos WHERE servicio = 'bomberos';\n"
    )
    gen = CallGenerator(seed=4)
    fire = next(c for c in (gen.call() for _ in range(100)) if c["servicio"] == "bomberos")
    other = next(c for c in (gen.call() for _ in range(100)) if c["servicio"] != "bomberos")
    twin = {**other, "id_aviso": fire["id_aviso"]}
    rows = _route(spark, parse_routes(path), [json.dumps(c).encode() for c in (fire, twin)])
    assert sorted(t for t, _, _ in rows) == [DLQ, "fuego"]
    letter = next(v for t, _, v in rows if t == DLQ)
    assert letter["motivo"] == UNROUTED and json.loads(letter["valor"]) == twin


def test_the_sink_writes_a_routed_batch_and_keeps_none_of_its_rows_cached(  # type: ignore[no-untyped-def]
    spark, settings: Settings, bootstrap: str, admin: TopicAdmin, tmp_path: Path
) -> None:
    prefix = f"r{uuid.uuid4().hex[:6]}."
    routes, dlq = parse_routes(SHIPPED, prefix), f"{prefix}{DLQ}"
    topics = [dlq, *(r.topic for r in routes)]
    for topic in topics:
        admin.create(topic, 1)
    sink = KafkaTopicSink("routes", topics)
    sink.open(SinkContext(spark, tmp_path / "checkpoint", client_config(settings, bootstrap)))
    enrichment.register(spark)
    gen = CallGenerator(seed=5)
    cached = spark.sparkContext._jsc.getPersistentRDDs().size()
    try:
        for batch_id in range(2):
            values = [json.dumps(gen.call()).encode() for _ in range(200)] + [b"{oops"]
            rows = routed(_batch(spark, values), routes, f"{prefix}emergencias.avisos", dlq)
            sink.write(rows, batch_id)
            assert sink.rows_written == (batch_id + 1) * len(values)
            assert sink.rows_by[dlq] == batch_id + 1
    finally:
        sink.close()
    assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached
