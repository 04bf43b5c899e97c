"""Errors raised by the Kafka data source and the sinks, with the next step for the user."""

from __future__ import annotations

from caudal.errors import CaudalError


class InvalidOption(CaudalError):
    """A data source option is missing or malformed."""


class DataLoss(CaudalError):
    """Records the query still needed were deleted (retention, topic re-created)."""


class FetchTimeout(CaudalError):
    """The broker did not return records known to exist within the poll timeout."""
