"""The fruit view of an ImageNet prediction: which fruit the photo shows, or none.

The seed told fruits apart; ImageNet-1k has ten fruit classes (948 Granny Smith ... 957
pomegranate). The model's sidecar JSON maps those class names to plain fruit names and sets
the threshold, so the rule is data, not code:

    "fruit": {"classes": {"Granny Smith": "apple", "orange": "orange", ...}, "min_p": 0.5}

A photo is a fruit when the fruit classes together hold at least ``min_p`` of the
probability (the model thinks "some fruit" more likely than anything else); which fruit is the
most probable fruit class, reported with its own probability. Pure numpy: runs wherever the
classifier runs (executors, the page's process).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from caudal.errors import CaudalError


@dataclass(frozen=True)
class FruitView:
    """Class indices of the fruit classes, their plain names, and the threshold on their sum."""

    indices: tuple[int, ...]
    names: tuple[str, ...]
    min_p: float

    @classmethod
    def from_card(cls, card: dict[str, Any], classes: list[str]) -> FruitView:
        """From the sidecar; a model without a ``fruit`` section never names a fruit."""
        spec = card.get("fruit") or {"classes": {}, "min_p": 1.0}
        unknown = sorted(set(spec["classes"]) - set(classes))
        if unknown:
            raise CaudalError(f"the model's fruit classes {unknown} are not among its classes")
        pairs = [(classes.index(c), name) for c, name in spec["classes"].items()]
        return cls(
            tuple(i for i, _ in pairs), tuple(n for _, n in pairs), float(spec.get("min_p", 0.5))
        )

    def of(self, proba: np.ndarray) -> tuple[str | None, float | None]:
        """(fruit name, its probability) for one probability row, or (None, None)."""
        if not self.indices:
            return None, None
        fruit_p = proba[list(self.indices)]
        if float(fruit_p.sum()) < self.min_p:
            return None, None
        best = int(fruit_p.argmax())
        return self.names[best], float(fruit_p[best])
