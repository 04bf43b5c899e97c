"""Broker errors, each carrying the next step for the user."""

from __future__ import annotations

from caudal.errors import CaudalError


class BrokerError(CaudalError):
    """Any failure talking to or managing a broker."""


class BrokerUnreachable(BrokerError):
    """No broker answered at the bootstrap address within the timeout."""


class BrokerAlreadyRunning(BrokerError):
    """``caudal up`` found a live embedded broker."""


class BrokerNotRunning(BrokerError):
    """No embedded broker is running and no external one is configured."""


class PortInUse(BrokerError):
    """The requested listener port is taken by another process."""


class TopicNotFound(BrokerError):
    """A topic named by the user does not exist."""
