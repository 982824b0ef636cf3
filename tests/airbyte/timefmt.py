"""Datetimes in the formats Airbyte manifests declare (`datetime_format`, `cursor_datetime_formats`),
for the mock API: the CDK's extra directives (`%s`, `%ms`, `%s_as_float`, `%s_as_int`,
`%epoch_microseconds`) and strftime's, and a lenient parser for what a request sends back."""

from __future__ import annotations

import datetime
import re

from tap_restgeneric import datetimes

UTC = datetime.timezone.utc
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)


def format_datetime(value: datetime.datetime, fmt: str) -> str:
    """`value` (aware, UTC) written in a manifest's datetime format: the tap's own formatting (the CDK's
    DatetimeParser.format), and `%s_as_int`, which only the oracle's configs use."""
    value = value.astimezone(UTC)
    if fmt == "%s_as_int":
        return str(int((value - _EPOCH).total_seconds()))
    return datetimes.format_datetime(value, fmt)


def format_value(value: datetime.datetime, fmt: str) -> str | int | float:
    """As format_datetime, numbers for the epoch formats (an API returns them as JSON numbers)."""
    text = format_datetime(value, fmt)
    if fmt in {"%s", "%s_as_int", "%ms", "%epoch_microseconds"}:
        return int(text)
    if fmt == "%s_as_float":
        return float(text)
    return text


def parse_datetime(text: str | float, formats: list[str] | tuple[str, ...] = ()) -> datetime.datetime | None:
    """A datetime read from a request value, trying the manifest's formats first; None when unreadable."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return _from_epoch(float(text))
    text = str(text).strip()
    for fmt in formats:
        parsed = _parse_with(text, fmt)
        if parsed is not None:
            return parsed
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return _from_epoch(float(text))
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _from_epoch(number: float) -> datetime.datetime:
    # Epoch seconds, milliseconds or microseconds, told apart by magnitude.
    if abs(number) > 1e14:
        number /= 1_000_000
    elif abs(number) > 1e11:
        number /= 1000
    return _EPOCH + datetime.timedelta(seconds=number)


def _parse_with(text: str, fmt: str) -> datetime.datetime | None:
    if fmt in {"%s", "%s_as_int", "%ms", "%s_as_float", "%epoch_microseconds"}:
        if not re.fullmatch(r"-?\d+(\.\d+)?", text):
            return None
        number = float(text)
        scale = {"%ms": 1000, "%epoch_microseconds": 1_000_000}.get(fmt, 1)
        return _EPOCH + datetime.timedelta(seconds=number / scale)
    try:
        parsed = datetime.datetime.strptime(text, fmt.replace("%_ms", "%f"))  # noqa: DTZ007 - UTC assumed below
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
