"""The call schema and its validation: what makes an input record a routable call.

A record is valid when it is a JSON object with exactly the fields below, each of the right
JSON type, a known incident type, urgency and services, an ISO-8601 time with its zone and
coordinates inside Spain. Anything else gets a one-line reason and goes to the dead-letter
topic; the rest of the batch goes on.

The checks are Spark column expressions, built on the driver and run in the JVM on the
executors: no record crosses into Python. ``from_json`` reads each value twice: as a map of
field name → ``VARIANT``, whose keys are the fields the record names and whose values keep
their JSON type; and in the call schema, for typed values. A field of the wrong JSON type
reads as null in the call schema, or, read into a string (Spark reads ``112`` as ``"112"``),
as a text no check accepts; only the free-text fields need their variant's type. (Taking
every field out of the variant instead costs a literal and a cast per value in Spark 4.2.)

A field with a value in the call schema is a field the record names, so a record whose every
field reads (every valid call) skips the set difference that lists missing fields: 9–26 %
less JVM CPU per call in ``validated`` (200,000 feed calls, old and new interleaved, best of 5,
five runs on a 2-core machine under other load; wall times there were too noisy to tell).
Measured and left: one parse as a single ``VARIANT`` cast to the call struct, or the map
alone with a cast per field, both slower than the two parses; ``json_object_keys`` for the
field names is a second tokenization costing nearly what the map does; and skipping the map
for valid calls would need a cheap proof that no field is named twice or beyond the thirteen
and that the free-text fields are strings, which no Spark 4.2 function gives without a parse.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection
from functools import reduce
from typing import TYPE_CHECKING

from caudal.pipelines.emergencies.incidents import BY_TIPO, SERVICIOS, URGENCIAS
from caudal.pipelines.emergencies.places import in_spain

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

CALL_SCHEMA = (
    "id_aviso string, fecha string, tipo string, descripcion string, urgencia string, "
    "servicio string, cuerpos array<string>, necesita_medico boolean, heridos int, "
    "municipio string, provincia string, lat double, lon double"
)
TYPES = dict(c.split(" ", 1) for c in CALL_SCHEMA.split(", "))
FIELDS = list(TYPES)
KEY = "id_aviso"
VALIDATED_SCHEMA = f"{CALL_SCHEMA}, motivo string, valor string, particion int, desplazamiento long"
"""A call's columns (null when invalid) plus the reason and, for dead letters, the source."""
ISO_DATE, ISO_TIME, ISO_ZONE = (
    r"\d{4}-\d{2}-\d{2}",
    r"[T ]\d{2}:\d{2}:\d{2}(\.\d+)?",
    r"(Z|[+-]\d{2}(:?\d{2})?)",
)
"""``fecha``: date and time to the second (any fraction), then ``Z`` or an offset."""

MAX_RECORD_BYTES = 100_000
"""A call is a few hundred bytes; a record over this is a dead letter (its routed copy or dead
letter, key included, could pass the broker's 1 MB message limit and stop the query: fuzzing)."""
DEAD_LETTER_CHARS = 10_000
"""A dead letter keeps this much of the raw text and of the id it names."""

TEXT_FIELDS = ("id_aviso", "descripcion", "municipio", "provincia")
"""Free text: any non-blank JSON string, and only a string (see the module doc)."""
JSON_OPTIONS = {"allowSingleQuotes": "false"}
"""JSON as Python's ``json`` reads it (Spark's reader takes ``'single'`` quotes by default)."""
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
"""What Python's ``str.strip()`` removes: a text of only these is empty."""

Check = Callable[["Column"], "Column"]
"""A field's value as read (``CALL_SCHEMA``; a text field null unless its JSON value is a
string) → what is wrong with it, or null."""


def _problem(ok: Column, message: str | Column) -> Column:
    """``message`` unless ``ok`` holds (null, e.g. a value of the wrong JSON type, is not ok)."""
    from pyspark.sql import functions as F

    return F.when(~F.coalesce(ok, F.lit(False)), message)


def _quoted(text: Column) -> Column:
    from pyspark.sql import functions as F

    return F.coalesce(F.concat(F.lit("'"), text, F.lit("'")), F.lit("null"))


def _text(value: Column) -> Column:
    from pyspark.sql import functions as F

    return _problem(F.length(F.trim(value, F.lit(WHITESPACE))) > 0, "must be a non-empty string")


def _present(message: str) -> Check:
    """For fields whose type ``from_json`` enforces: a value of any other JSON type is null."""
    return lambda value: _problem(value.isNotNull(), message)


def _count(value: Column) -> Column:
    return _problem(value.between(0, 9_999), "must be a whole number from 0")


def _one_of(allowed: Collection[str]) -> Check:
    values = sorted(allowed)

    def check(value: Column) -> Column:
        from pyspark.sql import functions as F

        return _problem(value.isin(values), F.concat(F.lit("unknown value "), _quoted(value)))

    return check


def _timestamp(value: Column) -> Column:
    from pyspark.sql import functions as F

    parses = value.try_cast("timestamp").isNotNull()
    return (
        F.when(value.isNull(), "must be an ISO-8601 timestamp string")
        .when(value.rlike(f"^{ISO_DATE}{ISO_TIME}{ISO_ZONE}$") & parses, None)
        .when(
            value.rlike(f"^{ISO_DATE}({ISO_TIME})?$") & parses,
            F.concat(_quoted(value), F.lit(" has no time zone")),
        )
        .otherwise(F.concat(_quoted(value), F.lit(" is not an ISO-8601 timestamp")))
    )


def _services(value: Column) -> Column:
    """A non-empty list of known services; items that are not strings read as their JSON text,
    which no service name equals."""
    from pyspark.sql import functions as F

    unknown = F.array_except(value, F.array(*(F.lit(s) for s in SERVICIOS)))
    listed = F.concat(F.lit("unknown service(s) ['"), F.array_join(unknown, "', '", "null"))
    return _problem(F.size(value) > 0, "must be a non-empty list of services").otherwise(
        _problem(F.size(unknown) == 0, F.concat(listed, F.lit("']")))
    )


CHECKS: dict[str, Check] = {
    "id_aviso": _text,
    "fecha": _timestamp,
    "tipo": _one_of(BY_TIPO),
    "descripcion": _text,
    "urgencia": _one_of(URGENCIAS),
    "servicio": _one_of(SERVICIOS),
    "cuerpos": _services,
    "necesita_medico": _present("must be true or false"),
    "heridos": _count,
    "municipio": _text,
    "provincia": _text,
    "lat": _present("must be a number"),
    "lon": _present("must be a number"),
}


def _value(field: str) -> Column:
    """A field's value as the checks take it (columns ``validated`` adds)."""
    from pyspark.sql import functions as F

    return F.col(f"text_{field}") if field in TEXT_FIELDS else F.col("call")[field]


def _not_an_object(text: Column) -> Column:
    """Why a value ``from_json`` could not read as an object (only rejects get here).

    Read with ``from_json`` rather than ``try_parse_json``: Spark does not compile the former
    into the whole-stage Java method, so the checks are compiled as small methods instead of
    one of 15 KB, over the 8 KB HotSpot compiles (measured: ~20 % more CPU interpreted).
    """
    from pyspark.sql import functions as F

    type_ = F.schema_of_variant(F.from_json(text, "variant", JSON_OPTIONS))
    kind = (
        F.when(type_.startswith("ARRAY"), "array")
        .when(type_ == "STRING", "string")
        .when(type_ == "BOOLEAN", "boolean")
        .when(type_ == "VOID", "null")
        .when(type_.isin("BIGINT", "DOUBLE") | type_.startswith("DECIMAL"), "number")
    )
    return F.when(kind.isNull(), "not JSON").otherwise(
        F.concat(F.lit("not a JSON object but "), kind)
    )


def _all_read() -> Column:
    """Every field has a value in the call schema, so the record names them all: 13 null
    checks (JVM, on the executors) spare a valid call the set difference of its names."""
    from pyspark.sql import functions as F

    return reduce(operator.and_, (F.col("call")[f].isNotNull() for f in FIELDS))


def _reason(value: Column, text: Column) -> Column:
    """The first thing wrong with a record, in the order a reader would check it, or null.

    ``coalesce`` and ``when`` evaluate lazily: a valid call pays for each check once, and the
    text of a reason is only built for a reject. A field named twice is refused (Python's
    ``json`` would keep the last value, Spark's map keeps both): the call would be ambiguous.
    """
    from pyspark.sql import functions as F

    fields, expected = F.col("fields"), F.array(*(F.lit(f) for f in FIELDS))
    missing = F.array_except(expected, F.map_keys(fields))
    unknown = F.sort_array(F.array_except(F.map_keys(fields), expected))
    lat, lon = _value("lat"), _value("lon")
    where = F.concat(F.lit("coordinates ("), lat.cast("string"), F.lit(", "), lon.cast("string"))
    return F.coalesce(
        F.when(value.isNull(), "empty record (no value)"),
        F.when(
            F.length(value) > MAX_RECORD_BYTES,
            F.concat(
                F.lit("record of "),
                F.length(value).cast("string"),
                F.lit(f" bytes, over the {MAX_RECORD_BYTES:,}-byte limit of a call"),
            ),
        ),
        F.when(~F.is_valid_utf8(value), "not JSON: not UTF-8 text"),
        F.when(fields.isNull(), _not_an_object(text)),
        F.when(
            ~_all_read() & (F.size(missing) > 0),
            F.concat(F.lit("missing field(s): "), F.array_join(missing, ", ")),
        ),
        F.when(
            F.size(fields) > len(FIELDS),
            F.when(F.size(unknown) == 0, "a field is named more than once").otherwise(
                F.concat(F.lit("unknown field(s): "), F.array_join(unknown, ", "))
            ),
        ),
        *(F.concat(F.lit(f"{f}: "), check(_value(f))) for f, check in CHECKS.items()),
        F.when(~in_spain(lat, lon), F.concat(where, F.lit(") are outside Spain"))),
    )


def validated(records: DataFrame) -> DataFrame:
    """Kafka rows (``value``, ``partition``, ``offset``) → ``VALIDATED_SCHEMA`` rows.

    Builds a plan only (driver); executors run it in the JVM. A valid call has every field
    typed and ``motivo`` null; a rejected record keeps only its id (when it has a readable
    one, so the dead letter names it), the reason and its raw text (both cut at
    ``DEAD_LETTER_CHARS``).
    """
    from pyspark.sql import functions as F

    value, text = F.col("value"), F.col("value").cast("string")
    parsed = records.select(
        "value",
        "partition",
        "offset",
        F.from_json(text, "map<string,variant>", JSON_OPTIONS).alias("fields"),
        F.from_json(text, CALL_SCHEMA, JSON_OPTIONS).alias("call"),
    )
    texts = parsed.select(
        "*",
        *(
            F.when(F.schema_of_variant(F.col("fields")[f]) == "STRING", F.col("call")[f]).alias(
                f"text_{f}"
            )
            for f in TEXT_FIELDS
        ),
    )
    checked = texts.select("*", _reason(value, text).alias("motivo"))
    valid = F.col("motivo").isNull()
    return checked.select(
        F.when(valid, _value(KEY))
        .otherwise(F.left(_value(KEY), F.lit(DEAD_LETTER_CHARS)))
        .alias(KEY),
        *(F.when(valid, _value(f)).alias(f) for f in FIELDS if f != KEY),
        "motivo",
        F.when(~valid, F.left(F.make_valid_utf8(text), F.lit(DEAD_LETTER_CHARS))).alias("valor"),
        F.col("partition").cast("int").alias("particion"),
        F.col("offset").cast("long").alias("desplazamiento"),
    )
