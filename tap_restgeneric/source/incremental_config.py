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
