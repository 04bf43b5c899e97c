"""The catalogue of incident types: who responds, how urgent they are, whether a doctor goes.

This table is what keeps generated calls coherent (no firefighters for a robbery, special
police units only for the most serious armed incidents) and what the validator accepts as a
known ``tipo``. It is data, not rules scattered in code: one row per incident type.
"""

from __future__ import annotations

from dataclasses import dataclass

URGENCIAS = ("baja", "media", "alta", "critica")
URGENT = ("alta", "critica")
SERVICIOS = (
    "bomberos",
    "policia_local",
    "policia_nacional",
    "guardia_civil",
    "sanitarios",
    "proteccion_civil",
    "geos",
)
AREAS = tuple(s for s in SERVICIOS if s != "geos")
"""Services with an area topic of their own (the special unit only acts on urgent calls)."""


@dataclass(frozen=True)
class Incident:
    tipo: str
    descripciones: tuple[str, ...]
    responsables: tuple[str, ...]
    """The service in charge (one is drawn); it decides the area of a non-urgent call."""
    urgencias: dict[str, float]
    """Urgency level → weight."""
    medico: float
    """Probability that a doctor is needed."""
    apoyos: tuple[str, ...] = ()
    """Services that may join (each with even odds); never ``sanitarios`` nor ``geos``."""
    apoyos_graves: tuple[str, ...] = ()
    """Services that join only when the call is urgent (e.g. rescue crews at a crash)."""
    geos: float = 0.0
    """Probability the special unit goes when the call is ``critica``."""
    weight: float = 1.0


CATALOGUE: tuple[Incident, ...] = (
    Incident(
        "incendio_forestal",
        ("Columna de humo en zona de monte", "Fuego en pinar cercano a viviendas"),
        ("bomberos",),
        {"media": 0.2, "alta": 0.5, "critica": 0.3},
        0.15,
        apoyos=("guardia_civil", "proteccion_civil"),
        weight=0.6,
    ),
    Incident(
        "incendio_vivienda",
        ("Fuego en cocina de un piso", "Humo saliendo de una vivienda"),
        ("bomberos",),
        {"media": 0.2, "alta": 0.5, "critica": 0.3},
        0.35,
        apoyos=("policia_local",),
    ),
    Incident(
        "fuga_gas",
        ("Fuerte olor a gas en el portal", "Posible escape en bombona de butano"),
        ("bomberos",),
        {"media": 0.3, "alta": 0.6, "critica": 0.1},
        0.1,
        apoyos=("policia_local",),
        weight=0.5,
    ),
    Incident(
        "inundacion",
        ("Bajo inundado tras la tormenta", "Calle anegada con vehículos atrapados"),
        ("bomberos", "proteccion_civil"),
        {"baja": 0.3, "media": 0.4, "alta": 0.3},
        0.05,
        apoyos=("policia_local",),
        weight=0.5,
    ),
    Incident(
        "accidente_trafico",
        ("Colisión entre dos turismos", "Salida de vía de un vehículo", "Atropello a peatón"),
        ("guardia_civil", "policia_local"),
        {"baja": 0.25, "media": 0.3, "alta": 0.3, "critica": 0.15},
        0.6,
        apoyos_graves=("bomberos",),
        weight=2.0,
    ),
    Incident(
        "parada_cardiaca",
        ("Persona inconsciente que no respira", "Varón de 60 años con dolor torácico y colapso"),
        ("sanitarios",),
        {"critica": 1.0},
        1.0,
    ),
    Incident(
        "caida",
        ("Persona mayor caída en su domicilio", "Caída en la vía pública"),
        ("sanitarios",),
        {"baja": 0.3, "media": 0.5, "alta": 0.2},
        0.7,
        weight=1.5,
    ),
    Incident(
        "intoxicacion",
        ("Posible intoxicación alimentaria", "Ingesta de medicamentos"),
        ("sanitarios",),
        {"media": 0.4, "alta": 0.5, "critica": 0.1},
        1.0,
        weight=0.7,
    ),
    Incident(
        "atraco",
        ("Atraco a mano armada en comercio", "Atraco en sucursal bancaria"),
        ("policia_nacional",),
        {"alta": 0.8, "critica": 0.2},
        0.2,
        apoyos=("policia_local",),
        geos=0.5,
        weight=0.6,
    ),
    Incident(
        "robo",
        ("Robo de cartera sin violencia", "Robo en vehículo estacionado"),
        ("policia_local", "policia_nacional"),
        {"baja": 0.7, "media": 0.3},
        0.0,
        weight=1.5,
    ),
    Incident(
        "rina",
        ("Pelea entre varias personas", "Discusión violenta en un bar"),
        ("policia_local",),
        {"media": 0.5, "alta": 0.5},
        0.3,
    ),
    Incident(
        "toma_rehenes",
        ("Persona atrincherada con rehenes",),
        ("policia_nacional",),
        {"critica": 1.0},
        0.1,
        geos=1.0,
        weight=0.05,
    ),
    Incident(
        "ruido",
        ("Música muy alta de madrugada", "Molestias por ruido de obras"),
        ("policia_local",),
        {"baja": 1.0},
        0.0,
        weight=1.5,
    ),
    Incident(
        "animales_calzada",
        ("Ganado suelto en la carretera", "Jabalí en la calzada"),
        ("guardia_civil",),
        {"baja": 0.6, "media": 0.4},
        0.0,
        weight=0.6,
    ),
    Incident(
        "persona_desaparecida",
        ("Senderista desaparecido", "Persona mayor desorientada sin localizar"),
        ("guardia_civil",),
        {"media": 0.6, "alta": 0.4},
        0.0,
        apoyos=("proteccion_civil",),
        weight=0.4,
    ),
    Incident(
        "violencia_genero",
        ("Aviso por agresión en el domicilio",),
        ("policia_nacional",),
        {"alta": 0.7, "critica": 0.3},
        0.3,
        weight=0.6,
    ),
)
BY_TIPO = {i.tipo: i for i in CATALOGUE}
