"""The source options of Spark's Kafka connector, validated up front with errors naming them."""

from __future__ import annotations

import pytest

from caudal.streaming.exceptions import InvalidOption
from caudal.streaming.kafka.options import EARLIEST, LATEST, OffsetSpec, parse_source_options

BASE = {"kafka.bootstrap.servers": "127.0.0.1:9092", "subscribe": "orders"}


def parse(streaming: bool = True, **options: str) -> object:
    return parse_source_options({**BASE, **options}, streaming=streaming)


@pytest.mark.parametrize(
    "bad",
    ["earliset", "", "{not json", '["orders"]', '{"orders": 5}', '{"orders": {"zero": 1}}'],
)
def test_invalid_starting_offsets_is_rejected_naming_the_option(bad: str) -> None:
    with pytest.raises(InvalidOption, match="startingOffsets"):
        parse_source_options({**BASE, "startingOffsets": bad or " "}, streaming=True)


def test_invalid_ending_offsets_is_rejected_naming_the_option() -> None:
    with pytest.raises(InvalidOption, match="endingOffsets"):
        parse_source_options({**BASE, "endingOffsets": "newest"}, streaming=False)


def test_starting_offsets_json_selects_per_partition_offsets() -> None:
    opts = parse_source_options(
        {**BASE, "startingOffsets": '{"orders": {"0": 23, "1": -2, "2": -1}}'}, streaming=True
    )

    assert opts.starting == OffsetSpec("json", {"orders": {0: 23, 1: EARLIEST, 2: LATEST}})
    assert opts.starting.for_partition("orders", 0) == 23
    assert opts.starting.for_partition("orders", 7) == EARLIEST


def test_defaults_follow_spark_latest_for_streams_earliest_for_batches() -> None:
    assert parse_source_options(BASE, streaming=True).starting.kind == "latest"
    assert parse_source_options(BASE, streaming=False).starting.kind == "earliest"
    assert parse_source_options(BASE, streaming=False).ending.kind == "latest"
    opts = parse_source_options(BASE, streaming=True)
    assert opts.fail_on_data_loss is True
    assert opts.include_headers is False
    assert opts.max_offsets_per_trigger is None


def test_bootstrap_servers_is_required() -> None:
    with pytest.raises(InvalidOption, match="kafka.bootstrap.servers"):
        parse_source_options({"subscribe": "orders"}, streaming=True)


@pytest.mark.parametrize(
    "topics",
    [
        {},
        {"subscribe": "a", "subscribePattern": "a.*"},
        {"subscribe": "a", "assign": '{"a": [0]}'},
        {"subscribePattern": "a.*", "assign": '{"a": [0]}'},
    ],
)
def test_exactly_one_of_subscribe_subscribe_pattern_assign(topics: dict[str, str]) -> None:
    options = {"kafka.bootstrap.servers": "127.0.0.1:9092", **topics}

    with pytest.raises(InvalidOption, match="exactly one of"):
        parse_source_options(options, streaming=True)


def test_each_way_of_naming_topics_is_parsed() -> None:
    boot = {"kafka.bootstrap.servers": "h:1"}

    assert parse_source_options({**boot, "subscribe": " a, b ,"}, True).subscribe == ("a", "b")
    assert parse_source_options({**boot, "subscribePattern": "a.*"}, True).subscribe_pattern == (
        "a.*"
    )
    assigned = parse_source_options({**boot, "assign": '{"a": [0, 2]}'}, True).assign
    assert assigned == {"a": (0, 2)}
    with pytest.raises(InvalidOption, match="subscribePattern"):
        parse_source_options({**boot, "subscribePattern": "a(("}, True)
    with pytest.raises(InvalidOption, match="assign"):
        parse_source_options({**boot, "assign": "a:0"}, True)


def test_ending_offsets_is_rejected_for_streaming_queries() -> None:
    with pytest.raises(InvalidOption, match="endingOffsets"):
        parse_source_options({**BASE, "endingOffsets": "latest"}, streaming=True)

    assert parse_source_options({**BASE, "endingOffsets": "latest"}, streaming=False)


def test_keys_are_case_insensitive_as_spark_passes_them_lowercased() -> None:
    lowered = {
        "kafka.bootstrap.servers": "h:1",
        "subscribepattern": "orders.*",
        "startingoffsets": "earliest",
        "maxoffsetspertrigger": "500",
        "minpartitions": "8",
        "failondataloss": "FALSE",
        "includeheaders": "True",
        "kafkaconsumer.polltimeoutms": "2000",
        "fetchoffset.numretries": "5",
    }
    mixed = {
        "Kafka.Bootstrap.Servers": "h:1",
        "subscribePattern": "orders.*",
        "STARTINGOFFSETS": "earliest",
        "maxOffsetsPerTrigger": "500",
        "minPartitions": "8",
        "failOnDataLoss": "FALSE",
        "includeHeaders": "True",
        "kafkaConsumer.pollTimeoutMs": "2000",
        "fetchOffset.numRetries": "5",
    }

    for options in (lowered, mixed):
        opts = parse_source_options(options, streaming=True)
        assert opts.subscribe_pattern == "orders.*"
        assert opts.starting.kind == "earliest"
        assert opts.max_offsets_per_trigger == 500
        assert opts.min_partitions == 8
        assert opts.fail_on_data_loss is False
        assert opts.include_headers is True
        assert opts.poll_timeout_ms == 2000
        assert opts.num_retries == 5
        assert opts.client["bootstrap.servers"] == "h:1"


def test_kafka_prefixed_options_become_client_settings() -> None:
    opts = parse_source_options(
        {**BASE, "kafka.security.protocol": "SASL_SSL", "kafka.group.id": "lag-group"}, True
    )

    assert opts.client == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "SASL_SSL",
        "group.id": "lag-group",
    }
    assert opts.commit_group == "lag-group"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("maxOffsetsPerTrigger", "lots"),
        ("maxOffsetsPerTrigger", "0"),
        ("minPartitions", "-1"),
        ("failOnDataLoss", "yes"),
        ("includeHeaders", "1"),
    ],
)
def test_malformed_numbers_and_booleans_name_the_option(name: str, value: str) -> None:
    with pytest.raises(InvalidOption, match=name):
        parse_source_options({**BASE, name: value}, streaming=True)
