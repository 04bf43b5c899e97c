"""Bundled tables and the nearest-hospital enrichment."""

from __future__ import annotations

import numpy as np

from caudal.pipelines.emergencies.places import (
    haversine_km,
    hospitals,
    in_spain,
    municipalities,
    nearest_hospitals,
)


def test_tables_are_complete_and_inside_spain() -> None:
    towns, beds = municipalities(), hospitals()
    assert len(towns) >= 80 and towns["municipio"].is_unique
    assert len(beds) >= 70 and beds["nombre"].is_unique
    for frame in (towns, beds):
        assert frame.notna().all().all()
        assert all(in_spain(lat, lon) for lat, lon in zip(frame["lat"], frame["lon"], strict=True))


def test_nearest_hospital_is_the_closest_one_with_distance_and_eta() -> None:
    # beside La Paz (Madrid), in Sabadell, and in Las Palmas de Gran Canaria
    lat = np.array([40.4815, 41.5433, 28.1235])
    lon = np.array([-3.6870, 2.1094, -15.4363])
    found = nearest_hospitals(lat, lon)
    assert found["hospital"].tolist() == [
        "Hospital Universitario La Paz",
        "Hospital Universitari Parc Taulí",
        "Hospital Universitario de Gran Canaria Doctor Negrín",
    ]
    assert found.loc[0, "distancia_km"] < 0.1
    assert (found["eta_min"] >= 4).all()
    assert found.loc[2, "eta_min"] > found.loc[0, "eta_min"]


def test_eta_grows_with_distance() -> None:
    far = nearest_hospitals(np.array([40.0, 40.3]), np.array([-5.2, -3.70]))
    assert far.loc[0, "distancia_km"] > far.loc[1, "distancia_km"]
    assert far.loc[0, "eta_min"] > far.loc[1, "eta_min"]


def test_nearest_by_unit_vectors_is_the_nearest_by_haversine() -> None:
    """The UDF picks by dot product of unit vectors; over points all across Spain's boxes it
    must pick the hospital at the smallest great-circle distance, at that distance."""
    rng = np.random.default_rng(7)
    lat = np.concatenate([rng.uniform(35.9, 43.9, 4000), rng.uniform(27.5, 29.5, 1000)])
    lon = np.concatenate([rng.uniform(-9.4, 4.4, 4000), rng.uniform(-18.2, -13.3, 1000)])
    table = hospitals()
    every = haversine_km(
        lat[:, None],
        lon[:, None],
        table["lat"].to_numpy()[None, :],
        table["lon"].to_numpy()[None, :],
    )
    found = nearest_hospitals(lat, lon)
    assert np.allclose(found["distancia_km"], np.round(every.min(axis=1), 2), atol=0.011)
    picked = table.set_index("nombre").loc[found["hospital"]]
    chosen = haversine_km(lat, lon, picked["lat"].to_numpy(), picked["lon"].to_numpy())
    assert np.allclose(chosen, every.min(axis=1), atol=1e-6)
