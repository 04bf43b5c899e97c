"""Where the lakehouse keeps things: one folder with the landing zone and a folder per layer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from caudal.pipelines.lakehouse.settings import LakehouseSettings
from caudal.settings import Settings

LAYERS = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        root = LakehouseSettings.of(settings).dir or settings.data_dir / "lakehouse"
        return cls(root.resolve())

    def landing(self, folder: str) -> Path:
        return self.root / "landing" / folder

    def table(self, layer: str, name: str) -> Path:
        return self.root / layer / name

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    def tables(self) -> list[tuple[str, str, Path]]:
        """Every Delta table that exists now: (layer, name, path), quarantine last."""
        found = [
            (layer, p.name, p)
            for layer in LAYERS
            for p in sorted((self.root / layer).glob("*"))
            if (p / "_delta_log").is_dir()
        ]
        if (self.quarantine / "_delta_log").is_dir():
            found.append(("quarantine", "quarantine", self.quarantine))
        return found
