"""DatetimeBasedCursor (with MinMaxDatetime) -> the engine's date windows (``endpoint.incremental`` with
the window keys the dlt dialect compiles into ``source.window_config.WindowConfig``).

The bounds are rendered once, as the CDK renders them (``config``, ``$parameters``, the macros with the
sync's one "now"), read in the MinMaxDatetime's ``datetime_format`` (else the cursor's, else ISO 8601)
and written in the cursor's ``datetime_format``. An end that is "now" (``now_utc()``, or no
``end_datetime``) is the sync's now; an end before it (``today_utc()``, a configured end date) is a fixed
end that still keeps bookmarks (:func:`fixed_ends`, applied to the checked source: the dialect's
``end_value`` would be a backfill). Templates of the requests read a window's bounds as the CDK's
``stream_interval.start_time`` / ``end_time`` (or the cursor's ``partition_field_start`` / ``_end``).
"""

from __future__ import annotations

import dataclasses
import typing as t

from tap_restgeneric.airbyte.context import PARAMETERS_KEY, Translation, Untranslatable
from tap_restgeneric.datetimes import EPOCH_FORMATS, ISO_8601, DatetimeParseError, format_datetime, parse_datetime_any
from tap_restgeneric.errors import SourceConfigError

if t.TYPE_CHECKING:
    import datetime
    from collections.abc import Mapping

    from tap_restgeneric.source.model import Source

#: What MinMaxDatetime parses with when it names no format (the CDK's default), after the cursor's own.
_DEFAULT_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f%z", ISO_8601)
_OPTION_TARGETS = frozenset({"request_parameter", "header", "body_json", "body_data"})


@dataclasses.dataclass(frozen=True)
class WindowFields:
    """The names a window's bounds have in the stream's slice (``stream_interval.<name>``)."""

    start: str = "start_time"
    end: str = "end_time"


def window_fields(cursor: Mapping[str, t.Any] | None) -> WindowFields | None:
    """The slice names of a stream's window bounds (None: the stream has no date windows)."""
    if not cursor:
        return None
    return WindowFields(
        str(cursor.get("partition_field_start") or "start_time"), str(cursor.get("partition_field_end") or "end_time")
    )


def incremental_block(translation: Translation, cursor: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The ``endpoint.incremental`` (window keys) of a DatetimeBasedCursor."""
    where = str(cursor.get("$path", "incremental_sync"))
    parameters = cursor.get(PARAMETERS_KEY) or {}
    if cursor.get("type") != "DatetimeBasedCursor":
        raise Untranslatable(where, f"incremental_sync {cursor.get('type')} is not supported")
    if cursor.get("clamping"):
        raise Untranslatable(f"{where}.clamping", "clamping windows to calendar boundaries is not supported yet")

    def text(key: str) -> str | None:
        value = cursor.get(key)
        return None if value in (None, "") else translation.static_text(value, f"{where}.{key}", parameters)

    fmt = text("datetime_format") or ISO_8601
    block: dict[str, t.Any] = {"cursor_path": text("cursor_field") or "", "datetime_format": fmt}
    formats = [str(f) for f in cursor.get("cursor_datetime_formats") or []]
    if formats:
        block["cursor_datetime_formats"] = formats
    step, granularity = text("step"), text("cursor_granularity")
    if step and granularity:
        block["step"], block["cursor_granularity"] = step, granularity
    elif step or granularity:
        missing = "cursor_granularity" if step else "step"
        raise Untranslatable(f"{where}.{missing}", "step and cursor_granularity go together")
    lookback = text("lookback_window")
    if lookback:
        block["lookback_window"] = lookback
    start = bound(translation, cursor.get("start_datetime"), f"{where}.start_datetime", parameters, fmt)
    if start is None and translation.checking:
        start = Bound(translation.now, {})
    if start is None:  # a config problem (the CDK fails on it too), not a refusal
        raise SourceConfigError([f"manifest: {where}.start_datetime: renders empty (is the connector config's start set?)"])
    block["initial_value"] = format_datetime(start.moment, fmt)
    for key in ("min_datetime", "max_datetime"):
        limit = start.limits.get(key)
        if limit is not None:
            block[key] = format_datetime(limit, fmt)
    for key in ("start_time_option", "end_time_option"):
        option = cursor.get(key)
        if option:
            block[key] = _option(translation, option, f"{where}.{key}")
    if cursor.get("is_data_feed"):  # the CDK also drops a feed's records older than the range (its cursor's should_be_synced)
        block["is_data_feed"] = block["is_client_side_incremental"] = True
    if cursor.get("is_client_side_incremental"):
        block["is_client_side_incremental"] = True
    return block


@dataclasses.dataclass(frozen=True)
class Bound:
    """A rendered MinMaxDatetime: the moment, and its ``min_datetime`` / ``max_datetime``."""

    moment: datetime.datetime
    limits: dict[str, datetime.datetime | None]


def bound(
    translation: Translation, value: t.Any, where: str, parameters: Mapping[str, t.Any], cursor_format: str
) -> Bound | None:
    """A start or end (a string or a MinMaxDatetime), rendered and parsed as the CDK does."""
    if value in (None, ""):
        return None
    component = value if isinstance(value, dict) else {"datetime": value}
    own = component.get("datetime_format")
    formats = (own,) if own else (cursor_format, *_DEFAULT_FORMATS)
    inner = {**parameters, **(component.get(PARAMETERS_KEY) or {})}

    def moment(key: str) -> datetime.datetime | None:
        raw = component.get(key)
        if raw in (None, ""):
            return None
        rendered = translation.static_text(raw, f"{where}.{key}", inner) if isinstance(raw, str) else str(raw)
        if rendered == "":
            return None
        try:
            return parse_datetime_any(rendered, formats, f"{where}.{key}")
        except DatetimeParseError as exc:  # the config's value, not the manifest: a config error
            raise SourceConfigError([f"manifest: {where}.{key}: {exc}"]) from None

    found = moment("datetime")
    if found is None:
        return None
    limits = {"min_datetime": moment("min_datetime"), "max_datetime": moment("max_datetime")}
    return Bound(found, limits)


def _option(translation: Translation, option: Mapping[str, t.Any], where: str) -> dict[str, str]:
    inject = option.get("inject_into")
    if inject not in _OPTION_TARGETS:
        raise Untranslatable(f"{where}.inject_into", f"inject_into {inject} is not supported for a window bound")
    if option.get("field_path"):
        raise Untranslatable(f"{where}.field_path", "a nested field_path is not supported yet")
    name = translation.static_text(option.get("field_name"), f"{where}.field_name", option.get(PARAMETERS_KEY) or {})
    return {"inject_into": str(inject), "field_name": name}


def typed_bounds(block: dict[str, t.Any], schema: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The bounds of an epoch ``datetime_format`` as numbers when the stream's schema says its cursor is one
    (what the engine compares the cursor's values with, and what ``--doctor`` checks them against)."""
    if block.get("datetime_format") not in EPOCH_FORMATS:
        return block
    declared = ((schema.get("properties") or {}).get(block.get("cursor_path")) or {}).get("type")
    kinds = set(declared) if isinstance(declared, list) else {declared}
    if not kinds & {"integer", "number"}:
        return block
    number: type = float if block["datetime_format"] == "%s_as_float" else int
    for key in ("initial_value", "min_datetime", "max_datetime"):
        if key in block:
            block[key] = number(block[key])
    return block


def fixed_end(translation: Translation, cursor: Mapping[str, t.Any] | None) -> datetime.datetime | None:
    """A cursor's end when it is before the sync's now (``today_utc()``, a configured end): None when
    it is now (no ``end_datetime``, ``now_utc()``) or after it."""
    if not cursor or not cursor.get("end_datetime"):
        return None
    where = str(cursor.get("$path", "incremental_sync"))
    fmt = translation.static_text(cursor.get("datetime_format") or ISO_8601, f"{where}.datetime_format", {})
    end = bound(translation, cursor["end_datetime"], f"{where}.end_datetime", cursor.get(PARAMETERS_KEY) or {}, fmt)
    if end is None or end.moment.timestamp() >= int(translation.now.timestamp()):
        return None
    return end.moment


def fixed_ends(source: Source, ends: Mapping[str, datetime.datetime]) -> None:
    """Give the windows of the named resources of a checked source their fixed end (bookmarks kept)."""
    for resource in source.resources:
        end = ends.get(resource["name"])
        windows = resource.get("windows")
        if end is not None and windows is not None:
            resource["windows"] = dataclasses.replace(windows, end=format_datetime(end, windows.datetime_format), backfill=False)
