"""librdkafka settings for every client Caudal creates, built from the effective settings."""

from __future__ import annotations

from typing import Any

from caudal.settings import Settings


def security_config(settings: Settings) -> dict[str, Any]:
    """SASL/TLS settings (empty on the embedded broker); the password comes from the settings."""
    conf: dict[str, Any] = {}
    if settings.kafka_security_protocol:
        conf["security.protocol"] = settings.kafka_security_protocol
    if settings.kafka_sasl_mechanism:
        conf["sasl.mechanism"] = settings.kafka_sasl_mechanism
    if settings.kafka_sasl_username:
        conf["sasl.username"] = settings.kafka_sasl_username
    if settings.kafka_sasl_password is not None:
        conf["sasl.password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_ssl_ca_location:
        conf["ssl.ca.location"] = str(settings.kafka_ssl_ca_location)
    return conf


QUIET = {"log_level": 2, "log.connection.close": False}
"""librdkafka logs disconnects and refused connections itself; Caudal reports them as errors."""


def client_config(settings: Settings, bootstrap: str, **extra: Any) -> dict[str, Any]:
    """Base config: bootstrap, security, and timeouts bounded so no call hangs."""
    timeout_ms = int(settings.kafka_timeout_s * 1000)
    return {
        "bootstrap.servers": bootstrap,
        "socket.timeout.ms": timeout_ms,
        "socket.connection.setup.timeout.ms": timeout_ms,
        **QUIET,
        **security_config(settings),
        **extra,
    }
