"""The shipped simulated alerts and the table that closes ``caudal demo``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.table import Table

import caudal

SAMPLES = Path(caudal.__file__).resolve().parents[2] / "samples" / "alerts"
DEMO_OUTPUT = Path(".caudal/demo/alerts.csv")
"""What ``caudal demo`` writes, and what the alerts page opens unless told another file."""


def class_report(output: Path, labels: Path) -> Table:
    """Predicted class against the simulator's true class, per class."""
    rows = pd.read_csv(output, usecols=["candid", "class", "confidence"])
    truth = pd.read_csv(labels)
    merged = rows.merge(truth.rename(columns={"class": "true_class"}), on="candid")
    table = Table(
        "true class",
        "alerts",
        "predicted right",
        "mean confidence",
        title=f"demo: {len(rows)} alerts classified",
    )
    for cls, group in merged.groupby("true_class"):
        right = int((group["class"] == cls).sum())
        table.add_row(
            str(cls),
            str(len(group)),
            f"{right} ({right / len(group):.0%})",
            f"{group['confidence'].mean():.2f}",
        )
    return table
