"""`caudal run emergencies` end to end, then `caudal emergencies check` and `caudal export`.

A real broker and real Spark: a few thousand generated calls (1 % of them broken), routed by
the shipped statements; the check must pass, then fail once a duplicate is slipped in.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.support.cli import caudal, cli_env, produce

N = 3000


@pytest.fixture(scope="module")
def run(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    prefix = f"e{uuid.uuid4().hex[:6]}."
    env = cli_env(
        tmp_path_factory.mktemp("emergencies"),
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=prefix,
        CAUDAL_SPARK_MASTER="local[2]",
    )
    result = caudal(
        "run", "emergencies", "--count", str(N), "--rate", "0", "--seed", "4", env=env, timeout=500
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "summary" in result.stdout and f"{N:,}" in result.stdout
    return env, prefix


def test_check_proves_every_call_is_routed_once(run: tuple[dict, str]) -> None:
    env, prefix = run
    result = caudal("emergencies", "check", env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: every input call is in exactly one route or the DLQ" in result.stdout
    assert f"{N:,}" in result.stdout and f"{prefix}emergencias.sanitarios" in result.stdout


def test_export_writes_decoded_json_array_and_lines(run: tuple[dict, str], tmp_path: Path) -> None:
    env, prefix = run
    medical = tmp_path / "sanitarios.json"
    result = caudal("export", f"{prefix}emergencias.sanitarios", "--out", str(medical), env=env)
    assert result.returncode == 0, result.stderr
    calls = json.loads(medical.read_text())
    assert len(calls) > 100 and f"{len(calls):,} records" in result.stdout
    assert all(c["urgencia"] in ("alta", "critica") and c["necesita_medico"] for c in calls)
    assert all(
        c["destino"]["hospital"].startswith(("Hospital", "Complexo", "Complejo")) for c in calls
    )

    letters = tmp_path / "dlq.jsonl"
    result = caudal(
        "export", f"{prefix}emergencias.dlq", "--out", str(letters), "--metadata", env=env
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in letters.read_text().splitlines()]
    assert 0 < len(rows) < N * 0.05
    assert all(r["value"]["motivo"] and {"partition", "offset", "key"} <= set(r) for r in rows)


def test_export_refuses_an_unknown_format(run: tuple[dict, str], tmp_path: Path) -> None:
    env, prefix = run
    result = caudal("export", f"{prefix}emergencias.dlq", "--out", str(tmp_path / "x.csv"), env=env)
    assert result.returncode == 1 and "next:" in result.stderr and ".jsonl" in result.stderr


def test_check_fails_on_a_duplicate(run: tuple[dict, str], bootstrap: str) -> None:
    env, prefix = run
    source = f"{prefix}emergencias.centro_mando"
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "t", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(source, 0, 0)])
    record = consumer.consume(1, 10)[0]
    consumer.close()
    produce(bootstrap, f"{prefix}emergencias.area.bomberos", [record.value()], [record.key()])
    result = caudal("emergencies", "check", env=env, timeout=120)
    assert result.returncode == 1
    assert "FAILED: 1 problem(s)" in result.stdout
    assert record.key().decode() in result.stdout and "area.bomberos" in result.stdout


def test_a_bad_routes_file_is_refused_before_anything_is_routed(
    bootstrap: str, tmp_path: Path
) -> None:
    routes = tmp_path / "routes.sql"
    routes.write_text(
        "-- a typo in a column name\n"
        "CREATE STREAM urgentes WITH (kafka_topic='urgentes') AS\n"
        "  SELECT * FROM avisos WHERE urgencia IN ('alta') AND medico;\n"
    )
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=f"b{uuid.uuid4().hex[:6]}.",
        CAUDAL_EMERGENCIES_ROUTES=str(routes),
    )
    result = caudal("run", "emergencies", "--count", "10", env=env, timeout=300)
    assert result.returncode == 1
    err = " ".join(result.stderr.split())
    assert f"{routes} line 3 (stream urgentes)" in err and "`medico`" in err, err
    assert "next:" in err and "Traceback" not in result.stderr
