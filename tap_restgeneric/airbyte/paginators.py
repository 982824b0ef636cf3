"""DefaultPaginator / NoPagination -> the engine's paginators, with the CDK's rules.

- ``PageIncrement`` -> ``page_number``: the page counted from ``start_from_page`` (default 0), the
  first request without the page parameter unless ``inject_on_first_request``, stopping on a page
  shorter than ``page_size`` (counted before any RecordFilter) or an empty one; no total is read.
- ``OffsetIncrement`` -> ``offset``: the offset grows by the records returned, same stop rules.
- ``CursorPagination`` -> ``cursor`` with ``cursor_value`` and ``stop_condition`` templates
  (``stop_condition`` first, then an empty token ends paging); a token sent by ``RequestPath`` is
  requested as the next URL.
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.airbyte import evaluators
from tap_restgeneric.airbyte.context import PARAMETERS_KEY, Translation, Untranslatable
from tap_restgeneric.errors import SourceConfigError

if t.TYPE_CHECKING:
    from collections.abc import Mapping


def _option(option: Mapping[str, t.Any] | None, translation: Translation, where: str) -> tuple[str, str | None]:
    """(where a RequestOption injects: param | header | body_json | body_data | path, its field name)."""
    if not option:
        return "none", None
    if option.get("type") == "RequestPath":
        return "path", None
    inject = option.get("inject_into") or "request_parameter"
    name = option.get("field_name")
    if name is None and option.get("field_path"):
        name = ".".join(str(p) for p in option["field_path"])
    text = translation.static_text(name, f"{where}.field_name", option.get(PARAMETERS_KEY) or {}) if name else None
    return str(inject), text


def _size(translation: Translation, value: t.Any, where: str, parameters: Mapping[str, t.Any]) -> int | None:
    if value in (None, ""):
        return None
    size = translation.static(value, where, parameters)
    try:
        return int(size)
    except (TypeError, ValueError):
        raise SourceConfigError([f"manifest: {where}: {size!r} is not a whole number"]) from None  # the config's value


def paginator(translation: Translation, component: Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """The engine paginator config of a retriever's paginator."""
    if not component or component.get("type") == "NoPagination":
        return {"type": "single_page"}
    where = str(component.get("$path", "paginator"))
    strategy = component.get("pagination_strategy") or {}
    parameters = strategy.get(PARAMETERS_KEY) or {}
    kind = strategy.get("type")
    token_at, token_name = _option(component.get("page_token_option"), translation, f"{where}.page_token_option")
    size_at, size_name = _option(component.get("page_size_option"), translation, f"{where}.page_size_option")
    page_size = _size(translation, strategy.get("page_size"), f"{strategy.get('$path')}.page_size", parameters)
    for at, name in ((token_at, "page_token_option"), (size_at, "page_size_option")):
        if at not in ("request_parameter", "path", "none", "body_json"):
            raise Untranslatable(f"{where}.{name}", f"inject_into {at} is not supported for paging")
    if kind in {"PageIncrement", "OffsetIncrement"}:
        return _range(kind, strategy, translation, (token_at, token_name), (size_at, size_name), page_size)
    if kind == "CursorPagination":
        return _cursor(translation, strategy, (token_at, token_name), (size_at, size_name), page_size)
    raise Untranslatable(where, f"pagination_strategy {kind} is not supported")


def _range(
    kind: str,
    strategy: Mapping[str, t.Any],
    translation: Translation,
    token: tuple[str, str | None],
    size: tuple[str, str | None],
    page_size: int | None,
) -> dict[str, t.Any]:
    where = str(strategy.get("$path"))
    if token[0] not in ("request_parameter", "body_json") or not token[1]:
        raise Untranslatable(where, f"{kind} needs a page_token_option that is a request parameter")
    inject = translation.static(strategy.get("inject_on_first_request", False), f"{where}.inject_on_first_request", {})
    paging: dict[str, t.Any] = {
        "stop_after_empty_page": True,
        "total_path": None,
        "inject_on_first_request": bool(inject),
    }
    body = token[0] == "body_json"
    if kind == "PageIncrement":
        start = _size(translation, strategy.get("start_from_page", 0), f"{where}.start_from_page", {}) or 0
        paging |= {"type": "page_number", "base_page": start, "page_param": token[1]}
        if body:
            paging["page_body_path"] = token[1]
        if page_size is not None:
            paging["limit"] = page_size
    else:
        if page_size is None:
            raise Untranslatable(where, "OffsetIncrement without page_size is not supported")
        paging |= {"type": "offset", "offset_param": token[1], "limit": page_size}
        if body:
            paging["offset_body_path"] = token[1]
    if size[1] and page_size is not None:
        paging["limit_param"] = size[1]
        if size[0] == "body_json":
            paging["limit_body_path" if kind == "OffsetIncrement" else "page_body_path"] = size[1]
    elif kind == "OffsetIncrement":
        paging["limit_param"] = None
    return paging


def _cursor(
    translation: Translation,
    strategy: Mapping[str, t.Any],
    token: tuple[str, str | None],
    size: tuple[str, str | None],
    page_size: int | None,
) -> dict[str, t.Any]:
    where = str(strategy.get("$path"))
    parameters = strategy.get(PARAMETERS_KEY) or {}
    value = strategy.get("cursor_value")
    if not isinstance(value, str):
        raise Untranslatable(f"{where}.cursor_value", "required")
    _check_names(value, f"{where}.cursor_value")
    paging: dict[str, t.Any] = {
        "type": "cursor",
        "cursor_value": evaluators.cursor_value(translation, value, f"{where}.cursor_value", parameters),
    }
    stop = strategy.get("stop_condition")
    if isinstance(stop, str) and stop.strip():
        _check_names(stop, f"{where}.stop_condition")
        paging["stop_condition"] = evaluators.condition(
            translation, stop, f"{where}.stop_condition", parameters, evaluators.PAGING_NAMES
        )
    if token[0] == "body_json" and token[1]:
        paging["cursor_body_path"] = token[1]
    elif token[0] != "path" and token[1]:
        paging["cursor_param"] = token[1]
    if size[1] and page_size is not None:
        paging["limit_param"] = size[1]  # sent on every request: moved into the endpoint's params
        paging["limit"] = page_size
    paging["stop_after_empty_page"] = False
    paging["parsed_link_header"] = True
    return paging


def _check_names(text: str, where: str) -> None:
    if Translation.reads(text, "stream_partition", "stream_slice", "stream_interval", "stream_state", "next_page_token"):
        raise Untranslatable(where, "a paging template that reads the partition or next_page_token is not supported")
