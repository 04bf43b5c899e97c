"""How long ago something happened, as the pages and the commands that list tables print it."""

from __future__ import annotations


def age(seconds: float) -> str:
    """``42 s``, ``12 min`` or ``2.5 h``: the unit a reader takes in at a glance."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
