"""A pipeline added from outside the repository: a package in a temporary folder, registered
by one line (``CAUDAL_PIPELINES``), run end to end by the real ``caudal run`` on the embedded
broker and Spark, with its own settings section (``CAUDAL_COUNTERS_FACTOR``)."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

from tests.support.cli import caudal, cli_env

PACKAGE = {
    "__init__.py": '''
        """Counters: numbers → Kafka → Spark (times a factor) → JSON lines."""

        from caudal.pipelines.definition import PipelineDefinition
        from counters.settings import CountersSettings

        PIPELINE = PipelineDefinition(__name__, CountersSettings)
    ''',
    "settings.py": """
        from typing import ClassVar

        from caudal.pipelines.definition import SettingsSection


        class CountersSettings(SettingsSection):
            prefix: ClassVar[str] = "counters_"

            factor: int = 1
    """,
    "feed.py": """
        import json

        from caudal.pipelines.feeder import Feeder, Record


        class NumberFeed(Feeder):
            name = "numbers"

            def __init__(self, topic, count):
                self.topic, self.count = topic, count

            def records(self, stop, counters):
                for n in range(self.count):
                    yield Record(self.topic, json.dumps({"n": n}).encode())
    """,
    "pipeline.py": """
        from pyspark.sql import functions as F

        from caudal.pipelines.base import Pipeline, QuerySpec, TopicSpec
        from caudal.sinks.files import file_sink
        from counters.feed import NumberFeed
        from counters.settings import CountersSettings


        def counters_pipeline(settings, count):
            topic = settings.topic("counters.numbers")
            factor = CountersSettings.of(settings).factor
            out = settings.data_dir / "counters" / "numbers.jsonl"

            def build(spark, ctx):
                numbers = ctx.read_topics(spark, [topic]).select(
                    F.get_json_object(F.col("value").cast("string"), "$.n").cast("int").alias("n")
                )
                return numbers.select("n", (F.col("n") * factor).alias("scaled"))

            return Pipeline(
                name="counters",
                description=f"numbers → {topic} → Spark (× {factor}) → {out}",
                topics=[TopicSpec(topic, partitions=2)],
                feeders=[NumberFeed(topic, count)],
                queries=[QuerySpec("numbers", [topic], build, file_sink(out, "numbers"))],
                outputs=[str(out)],
            )
    """,
    "cli.py": '''
        import typer

        from caudal.cli.output import command, settings
        from caudal.cli.pipeline_commands import PipelineCommands
        from caudal.cli.run import execute


        @command
        def run_counters(count: int = typer.Option(100, "--count", "-n", min=1)) -> None:
            """Numbers → Kafka → Spark → JSON lines."""
            from counters.pipeline import counters_pipeline

            execute(counters_pipeline(settings(), count), once=True)


        COMMANDS = PipelineCommands(run=run_counters)
    ''',
}


def _write_package(root: Path) -> None:
    package = root / "counters"
    package.mkdir(parents=True)
    for name, source in PACKAGE.items():
        (package / name).write_text(textwrap.dedent(source).lstrip())


def test_a_pipeline_from_a_temporary_folder_runs_end_to_end(tmp_path: Path) -> None:
    _write_package(tmp_path / "src")
    path = os.pathsep.join(filter(None, [str(tmp_path / "src"), os.environ.get("PYTHONPATH")]))
    env = cli_env(
        tmp_path / "data", CAUDAL_PIPELINES="counters", CAUDAL_COUNTERS_FACTOR="3", PYTHONPATH=path
    )

    listed = caudal("run", "--help", env=env)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "counters" in listed.stdout
    shown = caudal("config", env=env)
    assert "CAUDAL_COUNTERS_FACTOR" in shown.stdout

    result = caudal("run", "counters", "--count", "500", env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "summary" in result.stdout and "500" in result.stdout
    out = tmp_path / "data" / "counters" / "numbers.jsonl"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["n"] for r in rows) == list(range(500))
    assert all(r["scaled"] == 3 * r["n"] for r in rows)
