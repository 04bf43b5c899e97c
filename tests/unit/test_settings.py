"""Effective settings: CAUDAL_* environment over caudal.yaml, secrets never shown."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from caudal.settings import Settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CAUDAL_* variable and no caudal.yaml in the working directory."""
    for name in list(os.environ):
        if name.startswith("CAUDAL_") or name == "KAFKA_HOME":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_run_on_one_machine_with_data_under_dot_caudal(clean_env: Path) -> None:
    settings = Settings()

    assert settings.data_dir == Path(".caudal")
    assert settings.broker_dir == Path(".caudal") / "broker"
    assert settings.checkpoint_dir == Path(".caudal") / "checkpoints"
    assert settings.kafka_bootstrap is None
    assert settings.kafka_sasl_password is None
    assert settings.database_url is None


def test_yaml_named_by_caudal_config_is_read(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = clean_env / "conf" / "prod.yaml"
    config.parent.mkdir()
    config.write_text(
        "kafka_bootstrap: yaml-host:9092\n"
        "spark_master: spark://yaml:7077\n"
        "kafka_timeout_s: 4.5\n"
        "spark_conf:\n  spark.executor.memory: 2g\n"
    )
    monkeypatch.setenv("CAUDAL_CONFIG", str(config))

    settings = Settings()

    assert settings.kafka_bootstrap == "yaml-host:9092"
    assert settings.spark_master == "spark://yaml:7077"
    assert settings.kafka_timeout_s == 4.5
    assert settings.spark_conf == {"spark.executor.memory": "2g"}


def test_environment_wins_over_the_yaml_file(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = clean_env / "caudal.yaml"
    config.write_text("kafka_bootstrap: yaml-host:9092\nbroker_port: 1111\ndata_dir: /yaml\n")
    monkeypatch.setenv("CAUDAL_CONFIG", str(config))
    monkeypatch.setenv("CAUDAL_KAFKA_BOOTSTRAP", "env-host:9092")
    monkeypatch.setenv("CAUDAL_BROKER_PORT", "2222")

    settings = Settings()

    assert settings.kafka_bootstrap == "env-host:9092"
    assert settings.broker_port == 2222
    assert settings.data_dir == Path("/yaml")


def test_caudal_yaml_in_the_working_directory_is_the_default_file(clean_env: Path) -> None:
    (clean_env / "caudal.yaml").write_text("spark_log_level: ERROR\n")

    assert Settings().spark_log_level == "ERROR"


def test_unknown_keys_are_refused_rather_than_silently_ignored(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = clean_env / "caudal.yaml"
    config.write_text("kafka_bootstrp: typo:9092\n")
    monkeypatch.setenv("CAUDAL_CONFIG", str(config))

    with pytest.raises(ValueError, match="kafka_bootstrp"):
        Settings()


def test_masked_never_shows_a_secret(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    password = "hunter2-sasl-secret"  # pragma: allowlist secret
    db_password = "pg-secret-pw"  # pragma: allowlist secret
    config = clean_env / "caudal.yaml"
    config.write_text(f"database_url: postgresql+psycopg://app:{db_password}@db:5432/caudal\n")
    monkeypatch.setenv("CAUDAL_CONFIG", str(config))
    monkeypatch.setenv("CAUDAL_KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("CAUDAL_KAFKA_SASL_PASSWORD", password)

    settings = Settings()
    shown = settings.masked()

    assert shown["kafka_sasl_password"] == "****"
    assert shown["database_url"] == "****"
    assert shown["kafka_sasl_username"] == "svc"
    for text in (json.dumps(shown), repr(settings), str(settings)):
        assert password not in text
        assert db_password not in text
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == password


def test_masked_shows_an_unset_secret_as_unset_not_as_stars(clean_env: Path) -> None:
    shown = Settings().masked()

    assert shown["kafka_sasl_password"] is None
    assert shown["database_url"] is None
    assert shown["data_dir"] == ".caudal"
    json.dumps(shown)  # printable as it is by `caudal config`


def test_a_secret_comes_from_a_file_in_caudal_secrets_dir(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = clean_env / "run-secrets"
    secrets.mkdir()
    (secrets / "caudal_kafka_sasl_password").write_text("from-a-mounted-file\n")
    monkeypatch.setenv("CAUDAL_SECRETS_DIR", str(secrets))

    settings = Settings()

    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == "from-a-mounted-file"
    monkeypatch.setenv("CAUDAL_KAFKA_SASL_PASSWORD", "from-the-environment")
    assert Settings().kafka_sasl_password.get_secret_value() == "from-the-environment"  # type: ignore[union-attr]


def test_a_secrets_dir_that_does_not_exist_is_named(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAUDAL_SECRETS_DIR", str(clean_env / "missing"))
    with pytest.raises(ValueError, match="CAUDAL_SECRETS_DIR=.*missing: no such folder"):
        Settings()
