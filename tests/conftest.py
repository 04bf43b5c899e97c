"""Session fixtures: one real embedded broker, one real Spark session and one PostgreSQL
cluster for the whole run (the browser is the end-to-end tests' own: ``e2e/conftest.py``)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from caudal.broker.admin import TopicAdmin
from caudal.broker.embedded import start_broker, stop_broker
from caudal.settings import Settings
from tests.support.postgres import PostgresCluster, start_cluster

FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture
def reliability(
    request: pytest.FixtureRequest, record_property: Callable[[str, object], None]
) -> Callable[..., None]:
    """Reports a test's reliability figures (fuzz cases tried, kill points survived): printed,
    kept in the JUnit XML, and listed again at the end of the run (docs/reliability.md)."""

    def report(pipeline: str, **figures: int | float) -> None:
        line = f"{pipeline}: " + ", ".join(f"{k} {v:,}" for k, v in figures.items())
        print(f"reliability {line}")
        for name, value in figures.items():
            record_property(f"{pipeline}.{name}", value)
        request.config.stash.setdefault(FIGURES, []).append(f"{request.node.nodeid}  {line}")

    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    figures = terminalreporter.config.stash.get(FIGURES, [])
    if figures:
        terminalreporter.section("reliability figures")
        for line in figures:
            terminalreporter.line(line)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("caudal")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir, spark_master=os.environ.get("CAUDAL_TEST_MASTER", "local[2]")
    )


@pytest.fixture(scope="session")
def bootstrap(settings: Settings) -> Iterator[str]:
    info, _ = start_broker(settings)
    yield info.bootstrap
    stop_broker(settings)


@pytest.fixture(scope="session")
def admin(settings: Settings, bootstrap: str) -> Iterator[TopicAdmin]:
    client = TopicAdmin(settings, bootstrap)
    yield client
    client.close()


@pytest.fixture(scope="session")
def spark(settings: Settings):  # type: ignore[no-untyped-def]
    from caudal.streaming.session import spark_session

    session = spark_session(settings, app_name="caudal-tests")
    yield session
    session.stop()


@pytest.fixture
def topic(admin: TopicAdmin) -> str:
    """A fresh two-partition topic per test."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    admin.create(name, partitions=2)
    return name


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A real PostgreSQL of this run's own (stop()/start() it to test an outage)."""
    root = Path(tempfile.mkdtemp(prefix="caudal-pg-"))
    cluster = start_cluster(root)
    yield cluster
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres: PostgresCluster) -> str:
    """SQLAlchemy URL of the test cluster (psycopg 3 driver), password included."""
    return postgres.url
