"""Every name and path the runner gives a pipeline's queries, each made here and nowhere else.

Topic names get their prefix in one place too: ``Settings.topic``.
"""

from __future__ import annotations

from pathlib import Path

from caudal.settings import Settings


def query_name(pipeline: str, query: str) -> str:
    """Spark's name of the query (``<pipeline>.<query>``): progress, metrics, the Spark UI."""
    return f"{pipeline}.{query}"


def consumer_group(settings: Settings, pipeline: str, query: str) -> str:
    """The consumer group a query's progress is committed to (for lag in ``caudal status``),
    prefixed as the topics are (a shared cluster).

    Spark keeps the offsets in the checkpoint; the group only mirrors them for Kafka's tools.
    """
    return f"{settings.topic_prefix}caudal.{query_name(pipeline, query)}"


def checkpoint(settings: Settings, pipeline: str, query: str) -> Path:
    """The query's checkpoint: its offsets, state and sink batch logs (its identity). The topic
    prefix is part of it: the same pipeline on other topics is another query, and a
    checkpoint's offsets for one set of topics fail the query on another (measured: "data may
    have been lost")."""
    return settings.checkpoint_dir.resolve() / f"{settings.topic_prefix}{pipeline}" / query


def runs_dir(settings: Settings) -> Path:
    """Where running pipelines publish their queries' progress (``run_status``)."""
    return settings.data_dir / "runs"


def run_status_file(settings: Settings, pipeline: str) -> Path:
    return runs_dir(settings) / f"{pipeline}.json"
