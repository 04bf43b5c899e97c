"""The Maven jar cache: what it leaves out, what it trusts, and how it says what failed."""

from __future__ import annotations

from pathlib import Path

from caudal.jars import ArtifactSet, _artifact_of, _reason, cached, spark_connectors
from caudal.settings import Settings


def test_artifact_names_stop_at_the_version() -> None:
    assert _artifact_of("kafka-clients-3.9.2.jar") == "kafka-clients"
    assert _artifact_of("spark-sql-kafka-0-10_2.13-4.2.0.jar") == "spark-sql-kafka-0-10_2.13"
    assert _artifact_of("zstd-jni-1.5.7-17.jar") == "zstd-jni"


def test_spark_connectors_leave_out_what_the_pyspark_wheel_ships(tmp_path: Path) -> None:
    for jar in ("lz4-java-1.8.0.jar", "spark-core_2.13-4.2.0.jar"):
        (tmp_path / jar).touch()

    artifacts = spark_connectors("4.2.0", tmp_path)

    assert "io.delta:delta-spark_4.2_2.13:4.4.0" in artifacts.coordinates
    assert "org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0" in artifacts.coordinates
    assert artifacts.leave_out == {"lz4-java", "spark-core_2.13"}


def test_a_cache_is_trusted_only_while_every_jar_of_its_manifest_is_there(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jars_dir=tmp_path / "jars")
    artifacts = ArtifactSet("demo", ("g:a:1",))
    jar = tmp_path / "jars" / "ivy" / "g" / "a-1.jar"
    jar.parent.mkdir(parents=True)
    jar.touch()
    manifest = tmp_path / "jars" / f"{artifacts.key(settings.maven_repo)}.classpath"
    manifest.write_text("ivy/g/a-1.jar\n")  # relative: a copied cache works elsewhere

    assert cached(artifacts, settings) == [jar]
    jar.unlink()
    assert cached(artifacts, settings) is None
    assert cached(ArtifactSet("demo", ("g:a:2",)), settings) is None


def test_ivy_failures_name_the_missing_module() -> None:
    report = (
        "\t\tmodule not found: org.apache.kafka#kafka_2.13;4.4.0\n"
        "\t\tmodule not found: org.slf4j#slf4j-api;2.0.17\n"
        "\t\t::          UNRESOLVED DEPENDENCIES         ::\n"
    )
    assert _reason(report) == (
        "org.apache.kafka:kafka_2.13:4.4.0 and 1 more not found (or the repository is unreachable)"
    )
