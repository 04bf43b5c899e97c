"""The proof that routing lost, invented and duplicated nothing.

Every input record must be accounted for exactly once: either as a dead letter (found by its
partition and offset) or as a routed call (found by ``id_aviso`` in exactly one route topic).
Nothing may appear that is not in the input, and every routed call must carry the input's
fields unchanged; a call with a ``destino`` (the medical route) must carry all of them plus a
destination whose distance and ETA agree with the bundled hospital table.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from caudal.broker.admin import TopicAdmin
from caudal.broker.export import read_topic
from caudal.broker.tail import TailRecord
from caudal.pipelines.emergencies.calls import FIELDS
from caudal.pipelines.emergencies.pipeline import DLQ, INPUT, load_routes
from caudal.pipelines.emergencies.places import (
    eta_minutes,
    haversine_km,
    hospitals,
    nearest_hospitals,
)
from caudal.settings import Settings

MAX_SHOWN = 10


@dataclass
class Report:
    inputs: int = 0
    routed: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    enriched: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def fail(self, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_SHOWN:
            self.problems.append(message)


def _json(value: bytes | None) -> Any:
    try:
        return json.loads(value) if value is not None else None
    except (ValueError, UnicodeDecodeError):
        return None


def run_check(settings: Settings, bootstrap: str) -> Report:
    """Reads the input, every route topic and the DLQ from the broker, then ``check``s."""
    routes = load_routes(settings)
    admin = TopicAdmin(settings, bootstrap)
    try:

        def records(topic: str) -> list[TailRecord]:
            return list(read_topic(settings, admin, topic))

        return check(
            records(settings.topic(INPUT)),
            {r.topic: records(r.topic) for r in routes},
            records(settings.topic(DLQ)),
        )
    finally:
        admin.close()


def check(
    inputs: Iterable[TailRecord],
    routes: dict[str, list[TailRecord]],
    dead_letters: Iterable[TailRecord],
) -> Report:
    report = Report()
    letters: Counter[tuple[Any, Any]] = Counter()
    for r in dead_letters:
        letter = _json(r.value) or {}
        letters[(letter.get("particion"), letter.get("desplazamiento"))] += 1
    report.dead_letters = sum(letters.values())
    routed: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for topic, records in routes.items():
        report.routed[topic] = len(records)
        for r in records:
            call = _json(r.value)
            if not isinstance(call, dict) or not isinstance(call.get("id_aviso"), str):
                report.fail(f"{topic}[{r.partition}]@{r.offset} is not a call with an id_aviso")
                continue
            routed[call["id_aviso"]].append((topic, call))
    expected: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in inputs:
        report.inputs += 1
        where = (r.partition, r.offset)
        if letters.pop(where, 0):
            continue
        call = _json(r.value)
        if not isinstance(call, dict) or not isinstance(call.get("id_aviso"), str):
            report.fail(f"input [{r.partition}]@{r.offset} is invalid but not in the DLQ")
            continue
        expected[call["id_aviso"]].append(call)
    for where, n in letters.items():
        report.fail(f"dead letter for input {where} that is not in the input ({n}×)")
    _match(expected, routed, report)
    return report


def _match(
    expected: dict[str, list[dict[str, Any]]],
    routed: dict[str, list[tuple[str, dict[str, Any]]]],
    report: Report,
) -> None:
    for call_id, calls in expected.items():
        found = routed.pop(call_id, [])
        if len(found) != len(calls):
            topics = sorted(t for t, _ in found) or ["no route and not in the DLQ"]
            report.fail(f"call {call_id}: {len(calls)} in the input, found in {topics}")
            continue
        unmatched = list(calls)  # a resent id may carry other fields: pair each output
        for topic, out in found:  # with an input it equals, each input used once
            call = next((c for c in unmatched if not _changed(c, out)), unmatched[0])
            unmatched.remove(call)
            _same_fields(call_id, call, topic, out, report)
    for call_id, found in routed.items():
        report.fail(f"call {call_id} in {sorted(t for t, _ in found)} is not in the input")


def _changed(call: dict[str, Any], out: dict[str, Any]) -> list[str]:
    return [f for f in FIELDS if f in out and out[f] != call.get(f)]


def _same_fields(
    call_id: str, call: dict[str, Any], topic: str, out: dict[str, Any], report: Report
) -> None:
    changed = _changed(call, out)
    if changed:
        report.fail(f"call {call_id} in {topic}: field(s) {changed} differ from the input")
    if "destino" not in out:
        return
    report.enriched += 1
    missing = [f for f in FIELDS if f not in out]
    problem = _destination_problem(call, out["destino"])
    if missing or problem:
        report.fail(f"call {call_id} in {topic}: {problem or f'missing field(s) {missing}'}")


def _destination_problem(call: dict[str, Any], dest: Any) -> str | None:
    """Recomputes distance and ETA from the bundled table for the hospital the call names."""
    if not isinstance(dest, dict):
        return "destino is not a destination"
    table = hospitals().set_index("nombre")
    if dest.get("hospital") not in table.index:
        return f"destino names an unknown hospital {dest.get('hospital')!r}"
    nearest = nearest_hospitals([call["lat"]], [call["lon"]])["hospital"][0]
    if dest["hospital"] != nearest:
        return f"destino {dest['hospital']!r} is not the nearest hospital ({nearest!r})"
    h = table.loc[dest["hospital"]]
    km = float(haversine_km(call["lat"], call["lon"], h["lat"], h["lon"]))
    if not np.isclose(dest.get("distancia_km", -1), km, atol=0.01):
        return f"destino distance {dest.get('distancia_km')} km, recomputed {km:.2f} km"
    if not np.isclose(dest.get("eta_min", -1), eta_minutes(np.round(km, 2)), atol=0.1):
        return f"destino ETA {dest.get('eta_min')} min does not match {km:.2f} km"
    return None
