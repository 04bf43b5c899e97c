"""Coherent 112 calls: incident type ↔ services sent ↔ urgency, from the catalogue.

Calls come from real municipalities (weighted by population, a few hundred metres to a few
kilometres around the town centre), carry event times that never go backwards and an id that
is unique across runs (a run token plus a sequence number).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from caudal.pipelines.emergencies.incidents import CATALOGUE, URGENT, Incident
from caudal.pipelines.emergencies.places import municipalities

SPREAD_DEG = 0.03
"""Standard deviation of a call's distance from its town centre (about 3 km)."""


class CallGenerator:
    """An endless, reproducible (for a given ``seed``) stream of calls as JSON-ready dicts."""

    def __init__(self, seed: int | None = None, run: str | None = None) -> None:
        self.rng = random.Random(seed)
        self.run = run or uuid.uuid4().hex[:8]
        towns = municipalities()
        self._towns = towns.to_dict("records")
        self._town_weights = towns["poblacion"].tolist()
        self._incident_weights = [i.weight for i in CATALOGUE]
        self._last = datetime.now(UTC)
        self._seq = 0

    def calls(self) -> Iterator[dict[str, Any]]:
        while True:
            yield self.call()

    def call(self) -> dict[str, Any]:
        rng = self.rng
        incident = rng.choices(CATALOGUE, self._incident_weights)[0]
        urgencia = rng.choices(list(incident.urgencias), list(incident.urgencias.values()))[0]
        medico = rng.random() < incident.medico
        servicio = rng.choice(incident.responsables)
        town = rng.choices(self._towns, self._town_weights)[0]
        self._seq += 1
        return {
            "id_aviso": f"{self.run}-{self._seq:09d}",
            "fecha": self._next_time().isoformat(timespec="microseconds"),
            "tipo": incident.tipo,
            "descripcion": rng.choice(incident.descripciones),
            "urgencia": urgencia,
            "servicio": servicio,
            "cuerpos": self._services(incident, servicio, urgencia, medico),
            "necesita_medico": medico,
            "heridos": self._injured(urgencia) if medico else 0,
            "municipio": town["municipio"],
            "provincia": town["provincia"],
            "lat": round(town["lat"] + rng.gauss(0, SPREAD_DEG), 5),
            "lon": round(town["lon"] + rng.gauss(0, SPREAD_DEG), 5),
        }

    def _services(
        self, incident: Incident, servicio: str, urgencia: str, medico: bool
    ) -> list[str]:
        rng = self.rng
        sent = [servicio]
        sent += [s for s in incident.apoyos if s not in sent and rng.random() < 0.5]
        if urgencia in URGENT:
            sent += [s for s in incident.apoyos_graves if s not in sent]
        if urgencia == "critica" and rng.random() < incident.geos:
            sent.append("geos")
        if medico and "sanitarios" not in sent:
            sent.append("sanitarios")
        return sent

    def _injured(self, urgencia: str) -> int:
        most = {"baja": 1, "media": 2, "alta": 3, "critica": 6}[urgencia]
        return self.rng.randint(1, most)

    def _next_time(self) -> datetime:
        """Now, but strictly after the previous call (chronological even within a microsecond)."""
        now = datetime.now(UTC)
        self._last = max(now, self._last + timedelta(microseconds=1))
        return self._last
