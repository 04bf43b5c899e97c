"""The trades pipeline's settings: ``CAUDAL_FINNHUB_*`` and ``CAUDAL_METRICS_PORT``.

Named after the service they configure rather than ``CAUDAL_TRADES_*``: these names were
published before settings had sections, and a deployment's variables keep working.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from caudal.pipelines.definition import SettingsSection


class TradesSettings(SettingsSection):
    prefix: ClassVar[str] = ""

    finnhub_token: SecretStr | None = Field(
        None, description="Finnhub API token, for `caudal run trades --feed finnhub`."
    )
    finnhub_url: str = Field("wss://ws.finnhub.io", description="Finnhub WebSocket endpoint.")
    metrics_port: int | None = Field(
        None, description="Prometheus /metrics port of `caudal run trades`; unset = a free one."
    )
