"""An incremental block of the dialect (``endpoint.incremental``, or dlt's ``params: {x: {type: incremental}}``),
typed: its keys are those the dialect schema's ``incremental`` has (``tests/source/test_typed_configs.py``
holds them to it). (No ``from __future__ import annotations`` here: ``TypedDict`` tells ``NotRequired``
keys apart only from annotations it can evaluate.)
"""

import typing as t

from typing_extensions import NotRequired


class IncrementalConfig(t.TypedDict):
    cursor_path: str
    start_param: NotRequired[str | None]
    end_param: NotRequired[str | None]
    initial_value: NotRequired[t.Any]
    end_value: NotRequired[t.Any]
    row_order: NotRequired[str | None]
    lag: NotRequired[float | None]
    range_start: NotRequired[str | None]
    range_end: NotRequired[str | None]
    on_cursor_value_missing: NotRequired[str | None]
    # date windows (source.window_dialect compiles them into source.window_config.WindowConfig)
    step: NotRequired[str]
    cursor_granularity: NotRequired[str]
    datetime_format: NotRequired[str]
    cursor_datetime_formats: NotRequired[list[str]]
    lookback_window: NotRequired[str]
    start_time_option: NotRequired[dict[str, str]]
    end_time_option: NotRequired[dict[str, str]]
    min_datetime: NotRequired[t.Any]
    max_datetime: NotRequired[t.Any]
    is_data_feed: NotRequired[bool]
    is_client_side_incremental: NotRequired[bool]
