"""The dialect's window keys and partitions compile into plain typed values (what the Airbyte front-end builds too)."""

from __future__ import annotations

import datetime

import isodate
import pytest

from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.source import load_source
from tap_restgeneric.source.window_config import ListPartition, RequestOption, WindowConfig, partition_product


def resource(incremental: dict | None = None, **extra) -> dict:
    endpoint = {"path": "/r"} if incremental is None else {"path": "/r", "incremental": incremental}
    return {"name": "r", "endpoint": endpoint, **extra}


def loaded(*resources: dict, **settings) -> list:
    source = {"client": {"base_url": "http://127.0.0.1:9"}, "resources": list(resources)}
    return load_source({"source": source, **settings}).resources


def test_window_keys_compile_into_a_window_config_with_dlts_keys_mapped():
    (r,) = loaded(
        resource(
            {
                "cursor_path": "updated",
                "initial_value": "2024-01-01",
                "start_param": "since",
                "step": "P1M",
                "cursor_granularity": "PT1S",
                "lookback_window": "P2D",
                "datetime_format": "%Y-%m-%d",
                "cursor_datetime_formats": ["%s", "%ms"],
                "end_time_option": {"inject_into": "header", "field_name": "X-Until", "datetime_format": "%s"},
                "is_data_feed": True,
            }
        )
    )
    assert r["windows"] == WindowConfig(
        cursor_field="updated",
        datetime_format="%Y-%m-%d",
        cursor_formats=("%s", "%ms"),
        step=isodate.Duration(months=1),
        granularity=datetime.timedelta(seconds=1),
        lookback=datetime.timedelta(days=2),
        start="2024-01-01",
        end=None,
        min_datetime=None,
        max_datetime=None,
        start_option=RequestOption("request_parameter", "since"),
        end_option=RequestOption("header", "X-Until", "%s"),
        is_data_feed=True,
    )
    assert r["windows"].parse_formats == ("%s", "%ms", "%Y-%m-%d")


def test_a_resource_without_window_keys_or_partitions_has_no_windows():
    (plain, partitioned) = loaded(
        resource({"cursor_path": "updated", "initial_value": "2024-01-01T00:00:00Z", "start_param": "since"}),
        {
            **resource({"cursor_path": "u", "initial_value": "2024-01-01T00:00:00Z"}),
            "name": "p",
            "partitions": [{"name": "a", "values": [1]}],
        },
    )
    assert plain["windows"] is None
    assert plain["partitions"] == []
    assert partitioned["windows"] is not None  # each partition keeps its bookmark: one window each
    assert partitioned["windows"].step is None


def test_partitions_compile_from_lists_and_settings_and_give_their_product():
    (r,) = loaded(
        resource(
            partitions=[
                {"name": "account", "values": "{{ config.accounts }}", "inject_into": "path"},
                {"name": "region", "values": ["eu", 7], "inject_into": "header", "field_name": "X-Region"},
            ]
        ),
        accounts=["a", "b"],
    )
    assert r["partitions"] == [
        ListPartition("account", ("a", "b"), None),
        ListPartition("region", ("eu", "7"), RequestOption("header", "X-Region")),
    ]
    assert partition_product(r["partitions"]) == [
        {"account": "a", "region": "eu"},
        {"account": "a", "region": "7"},
        {"account": "b", "region": "eu"},
        {"account": "b", "region": "7"},
    ]


def test_partition_and_window_mistakes_are_each_one_line_naming_the_key():
    with pytest.raises(SourceConfigError) as info:
        loaded(
            resource(
                {"cursor_path": "u", "initial_value": "yesterday", "datetime_format": "%Y-%m-%d", "lookback_window": "2 days"},
                partitions=[
                    {"name": "account", "values": "{{ config.accounts }}"},
                    {"name": "region", "values": ["eu"], "inject_into": "header"},
                ],
            ),
            accounts={"a": 1},
        )
    assert sorted(info.value.problems) == [
        "resources[0].endpoint.incremental.initial_value: value 'yesterday' matches none of the formats tried: '%Y-%m-%d'",
        "resources[0].endpoint.incremental.lookback_window: '2 days' is not an ISO 8601 duration (e.g. P1D, PT6H, P1M)",
        "resources[0].partitions[0].values: expected a non-empty list of strings or numbers, got {'a': 1}",
        "resources[0].partitions[1].field_name: required with inject_into 'header'",
    ]


def test_dlts_lag_is_the_lookback_when_no_lookback_window_is_given():
    (lagged, both) = loaded(
        resource(
            {"cursor_path": "u", "initial_value": "2024-01-01T00:00:00Z", "step": "P1D", "cursor_granularity": "PT1S", "lag": 90}
        ),
        {
            **resource({"cursor_path": "u", "lag": 90, "lookback_window": "P1D", "step": "P1D", "cursor_granularity": "PT1S"}),
            "name": "b",
        },
    )
    assert lagged["windows"].lookback == datetime.timedelta(seconds=90)
    assert both["windows"].lookback == datetime.timedelta(days=1)
