"""The one error type users see: a one-line reason plus what to do next."""

from __future__ import annotations


class CaudalError(Exception):
    """A failure the user can act on; the CLI prints ``reason`` and ``hint`` and exits 1."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.reason} ({self.hint})" if self.hint else self.reason
