"""The Java client settings Spark's Kafka connector gets: same cluster, its own key names."""

from __future__ import annotations

from pathlib import Path

from caudal.broker.client import java_client_config
from caudal.settings import Settings


def test_sasl_credentials_become_a_quoted_jaas_config() -> None:
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="svc",
        kafka_sasl_password='p"w\\x',
        kafka_ssl_ca_location=Path("/etc/ca.pem"),
    )

    conf = java_client_config(settings, "broker:9093")

    assert conf["bootstrap.servers"] == "broker:9093"
    assert conf["security.protocol"] == "SASL_SSL"
    assert conf["sasl.jaas.config"] == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="svc" password="p\\"w\\\\x";'  # pragma: allowlist secret
    )
    assert conf["ssl.truststore.type"] == "PEM"
    assert conf["ssl.truststore.location"] == "/etc/ca.pem"


def test_the_embedded_broker_needs_no_security_settings() -> None:
    conf = java_client_config(Settings(), "127.0.0.1:9092")
    assert set(conf) == {
        "bootstrap.servers",
        "request.timeout.ms",
        "socket.connection.setup.timeout.ms",
    }
