"""Sink errors, each carrying the next step for the user."""

from __future__ import annotations

from caudal.errors import CaudalError


class SinkError(CaudalError):
    """Any failure of a sink to write its output."""


class SinkNotOpen(SinkError):
    """A batch reached a sink the runner had not opened (``BatchSink.open``)."""


class DatabaseUnavailable(SinkError):
    """The SQL database did not answer within the sink's wait."""


class CommitsUnreadable(SinkError):
    """The Kafka sink could not read its commit markers back to decide a replay."""
