"""``nearest_hospital(lat, lon)``: the medical enrichment, as a SQL function the routes call.

Being a SQL function keeps the medical route a statement in the routes file like the others;
the work itself is one vectorised distance matrix per Arrow batch (calls × hospitals).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from caudal.pipelines.emergencies.places import nearest_hospitals

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

FUNCTION = "nearest_hospital"
DESTINATION = (
    "hospital string, direccion string, municipio string, distancia_km double, eta_min double"
)


def _nearest(lat: pd.Series, lon: pd.Series) -> pd.DataFrame:
    """Runs on executors: Spark calls it per Arrow batch of the calls a route selects."""
    return nearest_hospitals(lat.to_numpy(), lon.to_numpy())


def register(spark: SparkSession) -> None:
    """Make ``nearest_hospital`` callable from SQL in ``spark`` (and sessions cloned from it)."""
    from pyspark.sql.functions import pandas_udf

    spark.udf.register(FUNCTION, pandas_udf(_nearest, DESTINATION))  # type: ignore[call-overload]
