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


_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def _jaas_quoted(value: str) -> str:
    """A JAAS option value: in double quotes, with quotes and backslashes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def java_client_config(settings: Settings, bootstrap: str) -> dict[str, str]:
    """The same connection for a Java client (Spark's Kafka connector): its own key names.

    Runs on the driver; Spark redacts the ``sasl.jaas.config`` it carries from its logs.
    """
    timeout_ms = str(int(settings.kafka_timeout_s * 1000))
    conf = {
        "bootstrap.servers": bootstrap,
        "request.timeout.ms": timeout_ms,
        "socket.connection.setup.timeout.ms": timeout_ms,
    }
    if settings.kafka_security_protocol:
        conf["security.protocol"] = settings.kafka_security_protocol
    if settings.kafka_sasl_mechanism:
        conf["sasl.mechanism"] = settings.kafka_sasl_mechanism
        module = _LOGIN_MODULES.get(settings.kafka_sasl_mechanism.upper())
        if module and settings.kafka_sasl_username and settings.kafka_sasl_password:
            user = _jaas_quoted(settings.kafka_sasl_username)
            secret = _jaas_quoted(settings.kafka_sasl_password.get_secret_value())
            conf["sasl.jaas.config"] = f"{module} required username={user} password={secret};"
    if settings.kafka_ssl_ca_location:
        conf["ssl.truststore.type"] = "PEM"
        conf["ssl.truststore.location"] = str(settings.kafka_ssl_ca_location)
    return conf
