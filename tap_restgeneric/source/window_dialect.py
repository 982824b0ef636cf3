"""The dialect's window keys (in ``endpoint.incremental``) and a resource's ``partitions``, compiled
into ``source.window_config``'s typed values (the structure was checked by the dialect schema).

dlt's keys keep dlt's meaning: ``initial_value`` is the start, ``end_value`` the end (a backfill: no
bookmark), ``start_param``/``end_param`` send the bounds as query parameters when no
``start_time_option``/``end_time_option`` says otherwise, ``lag`` (seconds) moves a bookmark's start
back when no ``lookback_window`` does. The new keys are named after Airbyte's
``DatetimeBasedCursor``; a resource without any of them runs as before (no windows).
"""

from __future__ import annotations

import datetime
import typing as t

from tap_restgeneric.datetimes import DatetimeParseError, DurationError, parse_datetime_any, parse_duration
from tap_restgeneric.errors import config_path
from tap_restgeneric.source.window_config import ListPartition, RequestOption, WindowConfig

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_restgeneric.datetimes import Duration

    Problem = Callable[[str, str], None]

#: The keys that turn an incremental into date windows.
WINDOW_KEYS = frozenset(
    {
        "step",
        "cursor_granularity",
        "datetime_format",
        "cursor_datetime_formats",
        "lookback_window",
        "start_time_option",
        "end_time_option",
        "min_datetime",
        "max_datetime",
        "is_data_feed",
        "is_client_side_incremental",
    }
)
#: What is sent and stored when ``datetime_format`` is not given.
DEFAULT_WINDOW_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: Partitions a resource may have (the product of its lists).
MAX_PARTITIONS = 100_000


def window_config(
    incremental: t.Mapping[str, t.Any] | None, where: str, problem: Problem, *, partitioned: bool = False
) -> WindowConfig | None:
    """The windows of ``endpoint.incremental`` (None: it has none of the window keys). A partitioned
    resource's incremental is always one (one window per partition without ``step``): each partition
    keeps its bookmark as windows do."""
    if not incremental or not (partitioned or WINDOW_KEYS & set(incremental)):
        return None
    durations = {key: _duration(incremental, key, where, problem) for key in ("step", "cursor_granularity", "lookback_window")}
    if ("step" in incremental) != ("cursor_granularity" in incremental):
        given, missing = ("step", "cursor_granularity") if "step" in incremental else ("cursor_granularity", "step")
        problem(
            config_path(where, missing), f"required with {given} (the end of one window and the start of the next differ by it)"
        )
    fmt = incremental.get("datetime_format") or DEFAULT_WINDOW_FORMAT
    config = WindowConfig(
        cursor_field=incremental["cursor_path"],
        datetime_format=fmt,
        cursor_formats=tuple(incremental.get("cursor_datetime_formats") or ()),
        step=durations["step"] if "cursor_granularity" in incremental else None,
        granularity=durations["cursor_granularity"] if "step" in incremental else None,
        lookback=durations["lookback_window"] or _lag(incremental.get("lag")),
        start=_text(incremental.get("initial_value")),
        end=_text(incremental.get("end_value")),
        min_datetime=_text(incremental.get("min_datetime")),
        max_datetime=_text(incremental.get("max_datetime")),
        start_option=_option(incremental, "start_time_option", "start_param"),
        end_option=_option(incremental, "end_time_option", "end_param"),
        is_data_feed=bool(incremental.get("is_data_feed")),
        is_client_side=bool(incremental.get("is_client_side_incremental")),
        backfill=incremental.get("end_value") is not None,
    )
    for key in ("initial_value", "end_value", "min_datetime", "max_datetime"):
        if incremental.get(key) is not None:
            try:
                parse_datetime_any(_text(incremental[key]), config.parse_formats, "value")
            except DatetimeParseError as exc:
                problem(config_path(where, key), str(exc))
    return config


def _duration(incremental: t.Mapping[str, t.Any], key: str, where: str, problem: Problem) -> Duration | None:
    if key not in incremental:
        return None
    try:
        return parse_duration(incremental[key], config_path(where, key))
    except DurationError as exc:
        problem(config_path(where, key), str(exc).split(": ", 1)[1])
        return None


def _lag(lag: float | None) -> Duration | None:
    """dlt's ``lag`` (seconds, for a date-time cursor) as a lookback, when ``lookback_window`` is not given."""
    return datetime.timedelta(seconds=lag) if lag else None


def _text(value: t.Any) -> str | None:
    return None if value is None else str(value)


def _option(incremental: t.Mapping[str, t.Any], key: str, dlt_key: str) -> RequestOption | None:
    option = incremental.get(key)
    if option:
        return RequestOption(option["inject_into"], option["field_name"], option.get("datetime_format"))
    if incremental.get(dlt_key):
        return RequestOption("request_parameter", incremental[dlt_key])
    return None


def list_partitions(
    raw: t.Sequence[t.Mapping[str, t.Any]] | None, where: str, problem: Problem, render: Callable[[t.Any, str], t.Any]
) -> list[ListPartition]:
    """A resource's ``partitions`` (``render``: a value's static templates, ``{{ config.x }}``, rendered)."""
    found: list[ListPartition] = []
    count = 1
    for index, entry in enumerate(raw or ()):
        at = config_path(where, index)
        values = render(entry["values"], config_path(at, "values"))
        if isinstance(values, str):
            values = [part.strip() for part in values.split(",") if part.strip()]
        if not isinstance(values, list) or not values or any(isinstance(v, (dict, list)) or v is None for v in values):
            problem(config_path(at, "values"), f"expected a non-empty list of strings or numbers, got {values!r}"[:300])
            continue
        if entry["name"] in {p.name for p in found}:
            problem(config_path(at, "name"), f"{entry['name']!r} is already the name of another partition list")
        inject = entry.get("inject_into")
        if inject is not None and inject != "path" and not entry.get("field_name"):
            problem(config_path(at, "field_name"), f"required with inject_into {inject!r}")
        option = RequestOption(inject, entry.get("field_name") or entry["name"]) if inject not in (None, "path") else None
        found.append(ListPartition(entry["name"], tuple(str(v) for v in values), option))
        count *= len(values)
    if count > MAX_PARTITIONS:
        problem(where, f"{count:,} partitions (the product of the lists): at most {MAX_PARTITIONS:,}")
    return found


def partition_name_problems(templates: t.Iterable[t.Any], partitions: t.Sequence[ListPartition]) -> list[str]:
    """The templates (compiled, with ``partition_names``) that read a partition the resource does not have."""
    names = {p.name for p in partitions}
    valid = ", ".join(sorted(names)) or "none: the resource has no partitions"
    return [
        f"{template.where}: reads partition {name!r}, not one of the resource's partitions ({valid})"
        for template in templates
        for name in template.partition_names
        if name != "*" and name not in names
    ]
