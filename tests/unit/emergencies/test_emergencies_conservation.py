"""The conservation check catches every way routing can go wrong (pure, no broker)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from caudal.broker.tail import TailRecord
from caudal.pipelines.emergencies.conservation import check
from caudal.pipelines.emergencies.generator import CallGenerator
from caudal.pipelines.emergencies.places import nearest_hospitals

MEDICAL, COMMAND = "emergencias.sanitarios", "emergencias.centro_mando"


def _rec(value: object, partition: int = 0, offset: int = 0) -> TailRecord:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return TailRecord(partition, offset, 0, None, raw, [])


def _enriched(call: dict) -> dict:
    dest = nearest_hospitals(np.array([call["lat"]]), np.array([call["lon"]])).iloc[0]
    return {
        **call,
        "destino": {k: (v.item() if hasattr(v, "item") else v) for k, v in dest.items()},
    }


@pytest.fixture
def world() -> tuple[list[TailRecord], dict[str, list[TailRecord]], list[TailRecord]]:
    """Three calls and one broken record, routed correctly."""
    gen = CallGenerator(seed=5)
    calls = [gen.call() for _ in range(3)]
    inputs = [_rec(c, 0, i) for i, c in enumerate(calls)] + [_rec(b"{broken", 1, 0)]
    routes = {MEDICAL: [_rec(_enriched(calls[0]))], COMMAND: [_rec(calls[1]), _rec(calls[2])]}
    letter = {"motivo": "not JSON", "particion": 1, "desplazamiento": 0, "valor": "{broken"}
    return inputs, routes, [_rec(letter)]


def test_a_correct_routing_passes(world) -> None:  # type: ignore[no-untyped-def]
    report = check(*world)
    assert report.ok, report.problems
    assert (report.inputs, report.dead_letters, report.enriched) == (4, 1, 1)
    assert report.routed == {MEDICAL: 1, COMMAND: 2}


def test_a_duplicate_in_another_route_fails(world) -> None:  # type: ignore[no-untyped-def]
    inputs, routes, dlq = world
    routes[MEDICAL].append(routes[COMMAND][0])
    report = check(inputs, routes, dlq)
    assert (
        not report.ok
        and "found in ['emergencias.centro_mando', 'emergencias.sanitarios']"
        in (report.problems[0])
    )


def test_a_lost_call_and_a_lost_dead_letter_fail(world) -> None:  # type: ignore[no-untyped-def]
    inputs, routes, _ = world
    routes[COMMAND].pop()
    report = check(inputs, routes, [])
    assert report.problem_count == 2
    assert any("no route and not in the DLQ" in p for p in report.problems)
    assert any("invalid but not in the DLQ" in p for p in report.problems)


def test_invented_calls_and_letters_fail(world) -> None:  # type: ignore[no-untyped-def]
    inputs, routes, dlq = world
    stranger = CallGenerator(seed=9).call()
    routes[COMMAND].append(_rec(stranger))
    dlq.append(_rec({"motivo": "x", "particion": 7, "desplazamiento": 7}))
    report = check(inputs, routes, dlq)
    assert any("is not in the input" in p for p in report.problems)
    assert any("dead letter for input (7, 7)" in p for p in report.problems)


def test_a_changed_field_fails(world) -> None:  # type: ignore[no-untyped-def]
    inputs, routes, dlq = world
    call = json.loads(routes[COMMAND][0].value or b"")
    routes[COMMAND][0] = _rec({**call, "urgencia": "baja"})
    report = check(inputs, routes, dlq)
    assert any("field(s) ['urgencia'] differ" in p for p in report.problems)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hospital": "Hospital Inventado"}, "unknown hospital"),
        ({"hospital": "Hospital Universitario de Ceuta"}, "is not the nearest"),
        ({"distancia_km": 999.0}, "destino distance"),
        ({"eta_min": 1.0}, "ETA"),
    ],
)
def test_a_wrong_destination_fails(world, change: dict, message: str) -> None:  # type: ignore[no-untyped-def]
    inputs, routes, dlq = world
    call = json.loads(routes[MEDICAL][0].value or b"")
    routes[MEDICAL][0] = _rec({**call, "destino": {**call["destino"], **change}})
    report = check(inputs, routes, dlq)
    assert not report.ok and message in report.problems[0]


def test_two_calls_under_one_id_pair_with_their_own_outputs() -> None:
    gen = CallGenerator(seed=6)
    first = gen.call()
    second = {**gen.call(), "id_aviso": first["id_aviso"]}
    inputs = [_rec(first, 0, 0), _rec(second, 0, 1)]
    assert check(inputs, {COMMAND: [_rec(second), _rec(first)]}, []).ok
    changed = {**second, "heridos": second["heridos"] + 1}
    report = check(inputs, {COMMAND: [_rec(first), _rec(changed)]}, [])
    assert not report.ok and "heridos" in report.problems[0]
