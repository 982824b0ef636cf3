"""The config of each paginator type, typed (the source model's ``endpoint.paginator``).

Each ``TypedDict``'s keys are the keyword parameters of its class's ``__init__`` (what
``paginator_options`` reads) plus ``type``; ``tests/paging/test_paginator_configs.py`` holds
the two, and the dialect schema's paginator properties, to the same keys. (No ``from __future__
import annotations`` here: ``TypedDict`` tells ``NotRequired`` keys apart only from annotations it
can evaluate.)
"""

import typing as t

from typing_extensions import NotRequired

PathSpec = str | list[str]


class SinglePageConfig(t.TypedDict):
    type: t.Literal["single_page"]


class PageNumberConfig(t.TypedDict):
    type: t.Literal["page_number"]
    page_param: NotRequired[str]
    start_from_page: NotRequired[int]
    base_page: NotRequired[int]
    page: NotRequired[int]
    limit: NotRequired[int]
    limit_param: NotRequired[str]
    total_path: NotRequired[PathSpec | None]
    maximum_page: NotRequired[int]
    has_more_path: NotRequired[PathSpec]
    page_body_path: NotRequired[str]
    stop_after_empty_page: NotRequired[bool]
    inject_on_first_request: NotRequired[bool]


class OffsetConfig(t.TypedDict):
    type: t.Literal["offset"]
    limit: int
    offset: NotRequired[int]
    offset_param: NotRequired[str]
    limit_param: NotRequired[str | None]
    total_path: NotRequired[PathSpec | None]
    maximum_offset: NotRequired[int]
    has_more_path: NotRequired[PathSpec]
    offset_body_path: NotRequired[str]
    limit_body_path: NotRequired[str]
    stop_after_empty_page: NotRequired[bool]
    inject_on_first_request: NotRequired[bool]


class CursorConfig(t.TypedDict):
    type: t.Literal["cursor"]
    cursor_path: NotRequired[PathSpec]
    cursor_param: NotRequired[str]
    #: A compiled template (``Template``) once the source is validated.
    cursor_value: NotRequired[t.Any]
    stop_condition: NotRequired[t.Any]
    has_more_path: NotRequired[PathSpec]
    cursor_body_path: NotRequired[str]
    stop_after_empty_page: NotRequired[bool]
    parsed_link_header: NotRequired[bool]


class JSONLinkConfig(t.TypedDict):
    type: t.Literal["json_link"]
    next_url_path: NotRequired[PathSpec]
    stop_after_empty_page: NotRequired[bool]


class HeaderLinkConfig(t.TypedDict):
    type: t.Literal["header_link"]
    links_next_key: NotRequired[str]
    stop_after_empty_page: NotRequired[bool]


class HeaderCursorConfig(t.TypedDict):
    type: t.Literal["header_cursor"]
    cursor_key: NotRequired[str]
    cursor_param: NotRequired[str]
    stop_after_empty_page: NotRequired[bool]


class AutoConfig(t.TypedDict):
    type: t.Literal["auto"]
    stop_after_empty_page: NotRequired[bool]


PaginatorConfig = (
    SinglePageConfig
    | PageNumberConfig
    | OffsetConfig
    | CursorConfig
    | JSONLinkConfig
    | HeaderLinkConfig
    | HeaderCursorConfig
    | AutoConfig
)
#: Each paginator type's config.
PAGINATOR_CONFIGS: dict[str, type] = {
    "single_page": SinglePageConfig,
    "page_number": PageNumberConfig,
    "offset": OffsetConfig,
    "cursor": CursorConfig,
    "json_link": JSONLinkConfig,
    "header_link": HeaderLinkConfig,
    "header_cursor": HeaderCursorConfig,
    "auto": AutoConfig,
}
