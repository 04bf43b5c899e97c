"""Java artifacts from Maven Central, resolved once into a cache outside the repository.

Runs in the CLI process (``caudal up``) and on the Spark driver, never on executors. The
embedded Kafka broker and Spark's Kafka, Avro and Delta connectors are Maven artifacts. They
are resolved with Apache Ivy from the pyspark wheel (nothing to install besides Python and
Java), transitive dependencies included, and the classpath found is kept in a manifest so a
later start touches neither the network nor Ivy.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from caudal.errors import CaudalError
from caudal.settings import Settings
from caudal.streaming.java import find_java_home

KAFKA_VERSION = "4.4.0"
LOG4J_VERSION = "2.26.1"
DELTA_VERSION = "4.4.0"


@dataclass(frozen=True)
class ArtifactSet:
    """Maven coordinates (``group:artifact:version``) resolved together into one classpath."""

    name: str
    coordinates: tuple[str, ...]
    leave_out: frozenset[str] = frozenset()
    """Artifact names left off the classpath (a host such as Spark already ships them)."""

    def key(self, repository: str) -> str:
        text = "\n".join((repository, *self.coordinates, *sorted(self.leave_out)))
        return f"{self.name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


KAFKA_BROKER = ArtifactSet(
    "kafka-broker",
    (
        f"org.apache.kafka:kafka_2.13:{KAFKA_VERSION}",
        # Kafka 4's POMs name only the slf4j API: the logging backend is ours to add.
        f"org.apache.logging.log4j:log4j-slf4j2-impl:{LOG4J_VERSION}",
        f"org.apache.logging.log4j:log4j-core:{LOG4J_VERSION}",
    ),
)


def spark_connectors(spark_version: str, spark_jars: Path) -> ArtifactSet:
    """Spark's own Kafka, Avro and Delta connectors for the installed pyspark.

    Jars that the pyspark wheel already ships (by artifact name) are left out, so Spark's
    version of a shared library always wins, as with ``spark-submit --packages``.
    """
    major_minor = ".".join(spark_version.split(".")[:2])
    shipped = frozenset(_artifact_of(jar.name) for jar in spark_jars.glob("*.jar"))
    return ArtifactSet(
        "spark-connectors",
        (
            f"org.apache.spark:spark-sql-kafka-0-10_2.13:{spark_version}",
            f"org.apache.spark:spark-avro_2.13:{spark_version}",
            f"io.delta:delta-spark_{major_minor}_2.13:{DELTA_VERSION}",
        ),
        shipped,
    )


def cached(artifacts: ArtifactSet, settings: Settings) -> list[Path] | None:
    """The classpath of ``artifacts`` when the cache holds all of it, else None."""
    cache = settings.jars_dir.expanduser().resolve()
    manifest = cache / f"{artifacts.key(settings.maven_repo)}.classpath"
    if not manifest.exists():
        return None
    jars = [cache / line for line in manifest.read_text().splitlines() if line]
    return jars if jars and all(jar.exists() for jar in jars) else None


def resolve(artifacts: ArtifactSet, settings: Settings) -> list[Path]:
    """The classpath of ``artifacts``: from the cache, else fetched once with Ivy.

    Raises a one-line ``CaudalError`` naming what could not be fetched and the settings that
    point elsewhere (a mirror, or a folder of jars resolved on another machine).
    """
    found = cached(artifacts, settings)
    if found is not None:
        return found
    cache = settings.jars_dir.expanduser().resolve()
    manifest = cache / f"{artifacts.key(settings.maven_repo)}.classpath"
    cache.mkdir(parents=True, exist_ok=True)
    jars = [
        jar
        for jar in _ivy_classpath(artifacts, settings, cache)
        if _artifact_of(jar.name) not in artifacts.leave_out
    ]
    # Relative paths: a copy of the cache folder works on another machine, at another path.
    manifest.write_text("".join(f"{jar.relative_to(cache)}\n" for jar in jars))
    return jars


def _ivy_classpath(artifacts: ArtifactSet, settings: Settings, cache: Path) -> list[Path]:
    ivy_jar = _ivy_jar()
    java = find_java_home() / "bin" / "java"
    timeout_ms = str(int(settings.kafka_timeout_s * 1000))
    with tempfile.TemporaryDirectory(prefix="caudal-ivy-") as work:
        ivy_xml, ivy_settings, out = Path(work, "ivy.xml"), Path(work, "s.xml"), Path(work, "cp")
        ivy_xml.write_text(_module(artifacts))
        ivy_settings.write_text(_settings(settings.maven_repo))
        command = [
            str(java),
            f"-Dsun.net.client.defaultConnectTimeout={timeout_ms}",
            f"-Dsun.net.client.defaultReadTimeout={timeout_ms}",
            "-jar", str(ivy_jar),
            "-settings", str(ivy_settings),
            "-ivy", str(ivy_xml),
            "-cache", str(cache.resolve() / "ivy"),
            "-confs", "default",
            "-cachepath", str(out),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=settings.jars_timeout_s
            )
        except subprocess.TimeoutExpired as exc:
            raise _fetch_error(artifacts, settings, "timed out") from exc
        if done.returncode != 0 or not out.exists():
            raise _fetch_error(artifacts, settings, _reason(done.stdout + done.stderr))
        return [Path(p) for p in out.read_text().strip().split(":") if p]


def _module(artifacts: ArtifactSet) -> str:
    deps = []
    for coordinate in artifacts.coordinates:
        group, name, version = coordinate.split(":")
        deps.append(
            f"<dependency org={quoteattr(group)} name={quoteattr(name)} "
            f'rev={quoteattr(version)} conf="default->default"/>'
        )
    return (
        '<ivy-module version="2.0"><info organisation="caudal" module='
        f'{quoteattr(artifacts.name)}/><configurations><conf name="default"/></configurations>'
        f"<dependencies>{''.join(deps)}</dependencies></ivy-module>"
    )


def _settings(repository: str) -> str:
    return (
        '<ivysettings><settings defaultResolver="repo"/><resolvers>'
        f'<ibiblio name="repo" m2compatible="true" root={quoteattr(repository)}/>'
        "</resolvers></ivysettings>"
    )


def _ivy_jar() -> Path:
    import pyspark

    found = sorted((Path(pyspark.__file__).parent / "jars").glob("ivy-*.jar"))
    if not found:
        raise CaudalError(
            "the pyspark wheel has no Apache Ivy jar to resolve Maven artifacts with",
            "reinstall pyspark (`make install`)",
        )
    return found[-1]


def _artifact_of(jar_name: str) -> str:
    """``kafka-clients-3.9.1.jar`` → ``kafka-clients``: the name before a dotted version."""
    found = re.match(r"(.+?)-\d+\.\d+.*\.jar$", jar_name)
    return found.group(1) if found else jar_name.removesuffix(".jar")


def _reason(output: str) -> str:
    """What Ivy could not fetch, from its report (``module not found: g#a;v``)."""
    missing = [
        line.split(":", 1)[1].strip().replace("#", ":").replace(";", ":")
        for line in output.splitlines()
        if "module not found:" in line or "unresolved dependency:" in line
    ]
    if not missing:
        lines = output.strip().splitlines()
        return lines[-1][:160] if lines else "Ivy failed without a message"
    more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
    return f"{missing[0]}{more} not found (or the repository is unreachable)"


def _fetch_error(artifacts: ArtifactSet, settings: Settings, reason: str) -> CaudalError:
    return CaudalError(
        f"could not fetch {artifacts.name} jars from {settings.maven_repo}: {reason}",
        "check the network; or set CAUDAL_MAVEN_REPO to a reachable mirror, or CAUDAL_JARS_DIR "
        "to a copy of a jars cache made on a connected machine",
    )
