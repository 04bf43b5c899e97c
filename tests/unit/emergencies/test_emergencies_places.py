"""Bundled tables and the nearest-hospital enrichment."""

from __future__ import annotations

import numpy as np

from caudal.pipelines.emergencies.places import (
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
