"""Parsing of the options of Spark's Kafka source/sink, with errors that name the option."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from caudal.streaming.exceptions import InvalidOption

EARLIEST, LATEST = -2, -1


@dataclass(frozen=True)
class OffsetSpec:
    """``earliest``, ``latest`` or an explicit ``{topic: {partition: offset}}`` map."""

    kind: str
    explicit: dict[str, dict[int, int]] = field(default_factory=dict)

    def for_partition(self, topic: str, partition: int) -> int:
        """Offset, or EARLIEST/LATEST; partitions missing from a JSON map start at earliest."""
        if self.kind != "json":
            return EARLIEST if self.kind == "earliest" else LATEST
        return self.explicit.get(topic, {}).get(partition, EARLIEST)


@dataclass(frozen=True)
class SourceOptions:
    """The reader's options after validation; picklable (shipped to executors)."""

    client: dict[str, Any]
    subscribe: tuple[str, ...] = ()
    subscribe_pattern: str | None = None
    assign: dict[str, tuple[int, ...]] = field(default_factory=dict)
    starting: OffsetSpec = OffsetSpec("latest")
    ending: OffsetSpec = OffsetSpec("latest")
    max_offsets_per_trigger: int | None = None
    min_partitions: int | None = None
    fail_on_data_loss: bool = True
    include_headers: bool = False
    poll_timeout_ms: int = 120_000
    num_retries: int = 3
    commit_group: str | None = None


def parse_offsets(name: str, raw: str | None, default: str) -> OffsetSpec:
    text = (raw or default).strip()
    if text.lower() in ("earliest", "latest"):
        return OffsetSpec(text.lower())
    try:
        data = json.loads(text)
        explicit = {str(t): {int(p): int(o) for p, o in parts.items()} for t, parts in data.items()}
    except (ValueError, AttributeError, TypeError) as exc:
        raise InvalidOption(
            f"option {name}={text!r} is not 'earliest', 'latest' or a JSON map",
            'use e.g. {"topic": {"0": 23, "1": -2}} (-2 = earliest, -1 = latest)',
        ) from exc
    return OffsetSpec("json", explicit)


def _bool(options: Mapping[str, str], name: str, default: bool) -> bool:
    raw = options.get(name.lower())
    if raw is None:
        return default
    if str(raw).lower() not in ("true", "false"):
        raise InvalidOption(f"option {name}={raw!r} must be true or false")
    return str(raw).lower() == "true"


def _int(options: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = options.get(name.lower())
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidOption(f"option {name}={raw!r} must be an integer") from exc
    if value <= 0:
        raise InvalidOption(f"option {name}={raw!r} must be positive")
    return value


def client_options(options: Mapping[str, str]) -> dict[str, Any]:
    """``kafka.*`` options with the prefix removed, as librdkafka settings."""
    client = {k[len("kafka.") :]: v for k, v in options.items() if k.lower().startswith("kafka.")}
    if not client.get("bootstrap.servers"):
        raise InvalidOption(
            "option kafka.bootstrap.servers is required",
            "set it to host:port (caudal sets it for you in pipelines)",
        )
    return client


def _topics(options: Mapping[str, str]) -> dict[str, Any]:
    given = [k for k in ("subscribe", "subscribepattern", "assign") if options.get(k)]
    if len(given) != 1:
        raise InvalidOption(
            "exactly one of the options subscribe, subscribePattern, assign is required",
            "e.g. .option('subscribe', 'topic1,topic2')",
        )
    if given[0] == "subscribe":
        return {"subscribe": tuple(t.strip() for t in options["subscribe"].split(",") if t.strip())}
    if given[0] == "subscribepattern":
        try:
            re.compile(options["subscribepattern"])
        except re.error as exc:
            raise InvalidOption(f"option subscribePattern is not a regex: {exc}") from exc
        return {"subscribe_pattern": options["subscribepattern"]}
    try:
        assigned = {t: tuple(int(p) for p in ps) for t, ps in json.loads(options["assign"]).items()}
    except (ValueError, AttributeError, TypeError) as exc:
        raise InvalidOption('option assign must be JSON like {"topic": [0, 1]}') from exc
    return {"assign": assigned}


def parse_source_options(options: Mapping[str, str], streaming: bool) -> SourceOptions:
    """Validate every option up front so a bad one fails the query at start, not mid-stream."""
    lowered = {k.lower(): str(v) for k, v in options.items()}
    if streaming and "endingoffsets" in lowered:
        raise InvalidOption("option endingOffsets is for batch queries only (spark.read)")
    return SourceOptions(
        client=client_options(lowered),
        **_topics(lowered),
        starting=parse_offsets(
            "startingOffsets", lowered.get("startingoffsets"), "latest" if streaming else "earliest"
        ),
        ending=parse_offsets("endingOffsets", lowered.get("endingoffsets"), "latest"),
        max_offsets_per_trigger=_int(lowered, "maxOffsetsPerTrigger", None),
        min_partitions=_int(lowered, "minPartitions", None),
        fail_on_data_loss=_bool(lowered, "failOnDataLoss", True),
        include_headers=_bool(lowered, "includeHeaders", False),
        poll_timeout_ms=_int(lowered, "kafkaConsumer.pollTimeoutMs", 120_000) or 120_000,
        num_retries=_int(lowered, "fetchOffset.numRetries", 3) or 3,
        commit_group=lowered.get("kafka.group.id"),
    )
