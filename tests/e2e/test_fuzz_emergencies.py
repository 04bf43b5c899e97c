"""Fuzzed 112 calls through the real broker and the real routing job: nothing lost or doubled.

Each example draws a batch of generated calls, most of them damaged the ways a switchboard
integration damages them (see ``DAMAGE``), produces it, and runs the pipeline once over it
with routes that leave some valid calls unrouted (they must become dead letters too). Then
``conservation.check`` (what `caudal emergencies check` runs) must find every input record in
exactly one route topic or the DLQ, and every dead letter must say why.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from caudal.broker.admin import TopicAdmin
from caudal.broker.export import read_topic
from caudal.pipelines.emergencies.calls import FIELDS, TEXT_FIELDS
from caudal.pipelines.emergencies.conservation import run_check
from caudal.pipelines.emergencies.generator import CallGenerator
from caudal.pipelines.emergencies.pipeline import DLQ, INPUT, emergencies_pipeline
from caudal.pipelines.runner import run_pipeline
from caudal.settings import Settings
from tests.support.cli import produce
from tests.support.fuzzing import Tally, batches

ROUTES = """
CREATE STREAM urgentes WITH (kafka_topic='fuzz.urgentes') AS
  SELECT * FROM avisos WHERE urgencia IN ('alta', 'critica');
CREATE STREAM bomberos WITH (kafka_topic='fuzz.bomberos') AS
  SELECT *, nearest_hospital(lat, lon) AS destino FROM avisos
  WHERE urgencia NOT IN ('alta', 'critica') AND servicio = 'bomberos';
"""
"""Disjoint routes covering only part of the valid calls: the rest are dead letters."""

Call = dict[str, Any]
Damage = Callable[[st.DrawFn, Call, list[Call]], bytes]
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
)
FAR_TIMES = st.sampled_from(
    ["0001-01-01T00:00:00Z", "1066-10-14T09:00:00+00:00", "9999-12-31T23:59:59.999999Z",
     "2999-01-01 00:00:00+01", "99999-01-01T00:00:00Z", "1970-01-01T00:00:00", "ayer"]
)  # fmt: skip


def _json(call: Any) -> bytes:
    return json.dumps(call, ensure_ascii=False, allow_nan=True).encode()


def _field(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(FIELDS))


def _not_utf8(draw: st.DrawFn, raw: bytes) -> bytes:
    at = draw(st.integers(0, len(raw)))
    return raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80"])) + raw[at:]


DAMAGE: dict[str, Damage] = {
    "none": lambda draw, call, seen: _json(call),
    "malformed JSON": lambda draw, call, seen: _json(call)[: draw(st.integers(0, 200))],
    "wrong type": lambda draw, call, seen: _json({**call, _field(draw): draw(JSON_VALUE)}),
    "missing field": lambda draw, call, seen: _json(
        {k: v for k, v in call.items() if k != _field(draw)}
    ),
    "extra field": lambda draw, call, seen: _json({**call, draw(TEXT): draw(JSON_VALUE)}),
    "huge string": lambda draw, call, seen: _json(
        {**call, draw(st.sampled_from(TEXT_FIELDS)): "x" * draw(st.integers(10_000, 400_000))}
    ),
    "not UTF-8": lambda draw, call, seen: _not_utf8(draw, _json(call)),
    "coordinates": lambda draw, call, seen: _json(
        {**call, "lat": draw(st.floats(-1e3, 1e3)), "lon": draw(st.floats(-1e3, 1e3))}
    ),
    "duplicated id": lambda draw, call, seen: _json(
        {**call, "id_aviso": draw(st.sampled_from(seen))["id_aviso"]} if seen else call
    ),
    "resent": lambda draw, call, seen: _json(draw(st.sampled_from(seen)) if seen else call),
    "far time": lambda draw, call, seen: _json({**call, "fecha": draw(FAR_TIMES)}),
    "random bytes": lambda draw, call, seen: draw(st.binary(max_size=120)),
    "random JSON": lambda draw, call, seen: _json(draw(JSON_VALUE)),
}


@st.composite
def call_batch(draw: st.DrawFn) -> list[bytes]:
    """A few hundred records: generated calls, each damaged one way (or not at all)."""
    generator = CallGenerator(seed=draw(st.integers(0, 2**32)), run="fz")
    seen: list[Call] = []
    values = []
    for _ in range(draw(st.integers(150, 300))):
        call = generator.call()
        values.append(DAMAGE[draw(st.sampled_from(sorted(DAMAGE)))](draw, call, seen))
        seen.append(call)
    return values


def _route(settings: Settings, admin: TopicAdmin, tmp: Path, values: list[bytes]) -> Settings:
    run = uuid.uuid4().hex[:6]
    routes = tmp / f"routes-{run}.sql"
    routes.write_text(ROUTES)
    here = settings.model_copy(
        update={
            "topic_prefix": f"fz{run}.",
            "data_dir": tmp / run,
            "emergencies_routes": routes,
            "max_offsets_per_trigger": 200,
        }
    )
    admin.create(here.topic(INPUT), 2)
    produce(str(settings.kafka_bootstrap), here.topic(INPUT), values)
    run_pipeline(emergencies_pipeline(here, 0, 0, feed=False), here, once=True)
    return here


def test_every_fuzzed_record_is_routed_or_a_dead_letter_once(
    settings: Settings,
    bootstrap: str,
    admin: TopicAdmin,
    spark: object,
    tmp_path: Path,
    reliability: Callable[..., None],
) -> None:
    tally = Tally()
    here = settings.model_copy(update={"kafka_bootstrap": bootstrap})

    @batches(examples=4)
    @given(values=call_batch())
    def routed_once(values: list[bytes]) -> None:
        run = _route(here, admin, tmp_path, values)
        report = run_check(run, bootstrap)
        assert report.ok, report.problems
        assert report.inputs == len(values)
        assert sum(report.routed.values()) + report.dead_letters == len(values)
        letters = [json.loads(r.value or b"") for r in read_topic(run, admin, run.topic(DLQ))]
        assert all(isinstance(d["motivo"], str) and d["motivo"] for d in letters)
        tally.add(len(values))

    routed_once()
    reliability("emergencies", fuzz_cases=tally.cases, fuzz_runs=tally.examples)
    assert tally.examples == 4
