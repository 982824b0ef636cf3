"""Date-times in Airbyte's format vocabulary, ISO 8601 durations, and cursor values compared as values.

Formats are ``strftime``/``strptime`` directives plus the Airbyte CDK's own (its ``DatetimeParser``):

- ``%s`` epoch seconds (parsed with ``int()``: ``"1.5"`` is refused, the number ``1.5`` is truncated),
  ``%s_as_float`` epoch seconds as a float, ``%ms`` epoch milliseconds, ``%epoch_microseconds``;
  each of these is a whole format, not a directive inside a longer one;
- ``%_ms`` inside a format: milliseconds, three digits (``%Y-%m-%dT%H:%M:%S.%_msZ``); parsed as ``%f``;
- ``iso8601`` (this tap's addition): ISO 8601 of any precision, parsed with dateutil's ``isoparse``.

A parsed value without a time zone is UTC. A value with an offset keeps it (comparisons are between
instants); :class:`CursorValues` normalises to UTC. Nothing depends on the machine's time zone: where
Python's ``strftime`` would ask the C library (``%s`` inside a longer format) or ``strptime`` would
accept the machine's zone names (``%Z``), the result is what the CDK gives in its container, whose
clock is UTC.
"""

from __future__ import annotations

import calendar
import datetime
import decimal
import re
import typing as t

import isodate
from dateutil import parser as dateutil_parser

from tap_restgeneric.errors import RestGenericError
from tap_restgeneric.values import number

UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
#: What ``MinMaxDatetime`` parses with when neither it nor its cursor names a format.
DEFAULT_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"
#: ISO 8601 of any precision (dateutil's ``isoparse``): a format name this tap adds to Airbyte's.
ISO_8601 = "iso8601"
EPOCH_FORMATS = frozenset({"%s", "%s_as_float", "%ms", "%epoch_microseconds"})

#: A step, granularity or lookback: calendar months and years are an ``isodate.Duration``.
Duration: t.TypeAlias = datetime.timedelta | isodate.Duration

_DIRECTIVE = re.compile(r"%(.)", re.DOTALL)


class DatetimeParseError(RestGenericError, ValueError):
    """A value that none of the formats tried could parse; names the value and the formats."""

    def __init__(self, value: t.Any, formats: t.Sequence[str], what: str = "value") -> None:
        self.value = value
        self.formats = tuple(formats)
        tried = ", ".join(repr(f) for f in formats)
        super().__init__(f"{what} {value!r} matches none of the formats tried: {tried}")


class DurationError(RestGenericError, ValueError):
    """Text that is not an ISO 8601 duration."""


# ---------------------------------------------------------------------------------------------------------------
# formatting


def _timestamp(moment: datetime.datetime) -> float:
    """Seconds since the epoch; a naive value is UTC (Python would take the machine's zone)."""
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def strftime(moment: datetime.date, fmt: str) -> str:
    """Python's ``strftime`` as it runs on a UTC machine, on any machine.

    ``%s`` inside a format is the C library's: it reads the wall-clock fields as local time, so on a
    UTC machine (the CDK's container) it is the epoch of the fields as if they were UTC, whatever the
    value's offset. Every other directive does not depend on the machine."""
    if "%s" not in fmt:
        return moment.strftime(fmt)
    wall_clock = str(calendar.timegm(moment.timetuple()))
    return moment.strftime(_DIRECTIVE.sub(lambda m: wall_clock if m.group(1) == "s" else m.group(0), fmt))


def format_datetime(moment: datetime.datetime, fmt: str) -> str:
    """``moment`` in ``fmt`` exactly as the CDK's ``DatetimeParser.format`` writes it."""
    if fmt == "%s":
        return str(int(_timestamp(moment)))
    if fmt == "%s_as_float":
        return str(float(_timestamp(moment)))
    if fmt == "%epoch_microseconds":
        return str(int(_timestamp(moment) * 1_000_000))
    if fmt == "%ms":
        return str(int(_timestamp(moment) * 1000))
    if fmt == ISO_8601:
        return moment.isoformat()
    if "%_ms" in fmt:
        # The CDK writes microseconds, then replaces every occurrence of their six digits in the
        # result by the milliseconds (so "000000" elsewhere in the text is replaced too).
        written = strftime(moment, fmt.replace("%_ms", "%f"))
        return written.replace(moment.strftime("%f"), f"{moment.microsecond // 1000:03d}")
    return strftime(moment, fmt)


def epoch_to_iso(epoch: float) -> str:
    """Epoch seconds as ISO 8601 in UTC to the second (``2025-06-15T15:06:40Z``), for messages and ``--doctor``."""
    moment = datetime.datetime.fromtimestamp(epoch, tz=UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------------------------
# parsing


def strptime(text: str, fmt: str) -> datetime.datetime:
    """``datetime.strptime`` as on a UTC machine: ``%Z`` reads UTC or GMT only (Python also accepts
    the machine's own zone names there). A value without ``%z`` comes back naive."""
    if not any(m.group(1) == "Z" for m in _DIRECTIVE.finditer(fmt)):
        return datetime.datetime.strptime(text, fmt)  # noqa: DTZ007 - the caller settles the zone (UTC when none)
    utc = _DIRECTIVE.sub(lambda m: "UTC" if m.group(1) == "Z" else m.group(0), fmt)
    gmt = _DIRECTIVE.sub(lambda m: "GMT" if m.group(1) == "Z" else m.group(0), fmt)
    parsed = _or_none(datetime.datetime.strptime, text, utc) or _or_none(datetime.datetime.strptime, text, gmt)
    if parsed is None:
        raise ValueError(f"{text!r} does not match {fmt!r} (%Z reads UTC or GMT)")
    return parsed


_T = t.TypeVar("_T")


def _or_none(function: t.Callable[..., _T], *args: t.Any) -> _T | None:
    try:
        return function(*args)
    except ValueError:
        return None


def parse_iso8601(text: str) -> datetime.datetime:
    """ISO 8601 of any precision, in UTC (UTC when no zone is given), as the CDK's ``str_to_datetime``."""
    if not isinstance(text, str):
        raise TypeError(f"{text!r} is not a string")
    parsed = dateutil_parser.isoparse(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_datetime(value: t.Any, fmt: str) -> datetime.datetime:
    """``value`` (text or a number) in ``fmt``, as the CDK's ``DatetimeParser.parse``; raises ValueError."""
    try:
        if fmt == "%s":
            return datetime.datetime.fromtimestamp(int(value), tz=UTC)
        if fmt == "%s_as_float":
            return datetime.datetime.fromtimestamp(float(value), tz=UTC)
        if fmt == "%epoch_microseconds":
            return EPOCH + datetime.timedelta(microseconds=int(value))
        if fmt == "%ms":
            return EPOCH + datetime.timedelta(milliseconds=int(value))
        if fmt == ISO_8601:
            return parse_iso8601(value)
        parsed = strptime(str(value), fmt.replace("%_ms", "%f"))
    except (OverflowError, OSError, TypeError) as exc:
        raise ValueError(f"{value!r} is not a date-time in {fmt!r}: {exc}") from None
    if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
        return parsed.replace(tzinfo=UTC)
    return parsed


def parse_datetime_any(value: t.Any, formats: t.Sequence[str], what: str = "value") -> datetime.datetime:
    """``value`` in the first of ``formats`` that parses it; :class:`DatetimeParseError` names them all."""
    for fmt in formats:
        parsed = _or_none(parse_datetime, value, fmt)
        if parsed is not None:
            return parsed
    raise DatetimeParseError(value, formats, what)


# ---------------------------------------------------------------------------------------------------------------
# durations


def parse_duration(text: str, where: str = "duration") -> Duration:
    """An ISO 8601 duration as the CDK reads it (isodate): ``P1D`` and ``PT6H`` are a timedelta,
    ``P1M`` and ``P1Y`` a calendar ``isodate.Duration``; ``P1W`` is seven days."""
    if not isinstance(text, str):
        raise DurationError(f"{where}: {text!r} is not an ISO 8601 duration (e.g. P1D, PT6H, P1M)")
    try:
        return isodate.parse_duration(text)
    except (isodate.ISO8601Error, ValueError, decimal.InvalidOperation):
        raise DurationError(f"{where}: {text!r} is not an ISO 8601 duration (e.g. P1D, PT6H, P1M)") from None


def add_duration(moment: datetime.datetime, duration: Duration) -> datetime.datetime:
    """``moment + duration``. Months and years are calendar units whose day is kept, or cut to the
    month's last day (Jan 31 + P1M = Feb 29 in 2024), then the time part is added."""
    return moment + duration


def subtract_duration(moment: datetime.datetime, duration: Duration) -> datetime.datetime:
    """``moment - duration`` (months and years as in :func:`add_duration`, backwards)."""
    return moment - duration


def is_zero_duration(duration: Duration | None) -> bool:
    """What the CDK takes for "no granularity": None or a zero timedelta (``PT0S``). A calendar
    duration is never zero to it, not even ``P0M`` parsed as a Duration."""
    return duration is None or (isinstance(duration, datetime.timedelta) and not duration)


# ---------------------------------------------------------------------------------------------------------------
# cursor values, compared as values


CursorKind = t.Literal["date-time", "number", "string"]
#: What a parsed cursor value is: an aware UTC datetime, a number, or text.
Comparable: t.TypeAlias = datetime.datetime | int | float | decimal.Decimal | str


def infer_kind(value: t.Any) -> CursorKind:
    """The kind of cursor a sample value shows: an ISO 8601 date or date-time, a number (or
    numeric text: ``"9" < "10"`` as numbers), else text compared as text."""
    if number(value) is not None:
        return "number"
    if isinstance(value, str):
        return "string" if _or_none(parse_iso8601, value) is None else "date-time"
    return "string"


class CursorValues:
    """Turns cursor values into values that compare correctly.

    With ``formats`` (Airbyte's ``cursor_datetime_formats`` then ``datetime_format``), a value is a
    date-time parsed by the first format that fits, normalised to UTC; none fitting is a
    :class:`DatetimeParseError`. Without formats, ``kind`` says what the values are (see
    :func:`infer_kind`): ``date-time`` reads ISO 8601 of any precision (a date is its midnight, UTC),
    ``number`` reads numbers and numeric text, ``string`` compares text as text."""

    def __init__(self, formats: t.Sequence[str] | None = None, kind: CursorKind | None = None) -> None:
        if not formats and kind is None:
            raise ValueError("CursorValues needs formats or a kind")
        self.formats = tuple(formats or ())
        self.kind: CursorKind = "date-time" if self.formats else t.cast("CursorKind", kind)

    def parse(self, value: t.Any) -> Comparable:
        if self.formats:
            return parse_datetime_any(value, self.formats, "cursor value").astimezone(UTC)
        if self.kind == "date-time":
            return parse_datetime_any(value, (ISO_8601,), "cursor value")
        if self.kind == "number":
            parsed = number(value)
            if parsed is None:
                raise DatetimeParseError(value, ("a number",), "cursor value")
            return parsed
        if not isinstance(value, str):
            raise DatetimeParseError(value, ("text",), "cursor value")
        return value

    def newest(self, values: t.Iterable[t.Any]) -> t.Any:
        """The value (as given) whose parsed value is the greatest, or None when there is none."""
        best: tuple[Comparable, t.Any] | None = None
        for value in values:
            parsed = self.parse(value)
            if best is None or parsed > best[0]:  # type: ignore[operator]
                best = (parsed, value)
        return None if best is None else best[1]
