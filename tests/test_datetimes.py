"""Airbyte's date-time formats, ISO 8601 durations and cursor values compared as values.

Expected values marked "CDK" were observed with airbyte-cdk 7.39.1 (DatetimeParser, isodate 0.6.1,
run with TZ=UTC as in its container). Every test runs under three machine time zones."""

from __future__ import annotations

import calendar
import datetime
import decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tap_restgeneric.datetimes import (
    ISO_8601,
    CursorValues,
    DatetimeParseError,
    DurationError,
    add_duration,
    format_datetime,
    infer_kind,
    is_zero_duration,
    parse_datetime,
    parse_datetime_any,
    parse_duration,
    parse_iso8601,
    strftime,
    subtract_duration,
)
from tests.time_zones import machine_time_zone  # noqa: F401 - the fixture, used by pytestmark

pytestmark = pytest.mark.usefixtures("machine_time_zone")

UTC = datetime.timezone.utc
PLUS_2 = datetime.timezone(datetime.timedelta(hours=2))
MOMENT = datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
EPOCH_SECONDS = 1704164645  # MOMENT, whole seconds

aware_moments = st.builds(
    lambda moment, offset: moment.replace(tzinfo=datetime.timezone(datetime.timedelta(minutes=offset))),
    st.datetimes(min_value=datetime.datetime(1971, 1, 2), max_value=datetime.datetime(2200, 1, 1)),  # noqa: DTZ001 - hypothesis bounds are naive
    st.integers(-14 * 60, 14 * 60),
)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("%s", str(EPOCH_SECONDS)),
        ("%s_as_float", "1704164645.678901"),
        ("%ms", "1704164645678"),
        ("%epoch_microseconds", "1704164645678901"),
        ("%Y-%m-%dT%H:%M:%SZ", "2024-01-02T03:04:05Z"),
        ("%Y-%m-%dT%H:%M:%S.%f%z", "2024-01-02T03:04:05.678901+0000"),
        ("%Y-%m-%dT%H:%M:%S.%_msZ", "2024-01-02T03:04:05.678Z"),
        ("%Y-%m-%d", "2024-01-02"),
        (ISO_8601, "2024-01-02T03:04:05.678901+00:00"),
        # %s inside a longer format: the C library's, which reads the wall clock as local time; the
        # CDK's container is UTC, so it is the epoch of the wall clock (here the same as the value's)
        ("day %d at %s", f"day 02 at {EPOCH_SECONDS}"),
        ("100%% %s", f"100% {EPOCH_SECONDS}"),
    ],
)
def test_formats_write_as_the_cdk_writes_them(fmt, expected):
    assert format_datetime(MOMENT, fmt) == expected


def test_milliseconds_replace_every_copy_of_the_microseconds():
    """CDK: %_ms writes microseconds, then replaces each occurrence of their digits by milliseconds."""
    midnight = datetime.datetime(2024, 1, 2, tzinfo=UTC)
    assert format_datetime(midnight, "%H%M%S.%_ms") == "000.000"
    assert format_datetime(midnight.replace(microsecond=5000), "%Y-%m-%dT%H:%M:%S.%_msZ") == "2024-01-02T00:00:00.005Z"


def test_epoch_formats_ignore_the_machine_time_zone_and_take_naive_values_as_utc():
    naive = MOMENT.replace(tzinfo=None)
    assert format_datetime(naive, "%s") == str(EPOCH_SECONDS)
    assert format_datetime(MOMENT.astimezone(PLUS_2), "%s") == str(EPOCH_SECONDS)
    # strftime's %s inside a format reads the wall clock (05:04 at +02:00) as if it were UTC, as the CDK does in UTC
    assert strftime(MOMENT.astimezone(PLUS_2), "%s.") == f"{EPOCH_SECONDS + 7200}."


@given(aware_moments)
def test_epoch_seconds_are_the_instant_whatever_the_offset(moment):
    assert format_datetime(moment, "%s") == str(calendar.timegm(moment.utctimetuple()))
    assert parse_datetime(format_datetime(moment, "%s"), "%s") == moment.replace(microsecond=0)


@given(aware_moments)
def test_full_precision_formats_read_back_the_same_instant_and_offset(moment):
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", ISO_8601):
        parsed = parse_datetime(format_datetime(moment, fmt), fmt)
        assert parsed == moment
        if fmt != ISO_8601:
            assert parsed.utcoffset() == moment.utcoffset()


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (1704164645, "%s", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("1704164645", "%s", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (1704164645.9, "%s", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),  # CDK: int() truncates a number
        ("1704164645.5", "%s_as_float", datetime.datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        ("1704164645678", "%ms", datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)),
        ("1704164645678901", "%epoch_microseconds", MOMENT),
        ("2024-01-02T03:04:05.678Z", "%Y-%m-%dT%H:%M:%S.%_msZ", datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)),
        ("2024-01-02", "%Y-%m-%d", datetime.datetime(2024, 1, 2, tzinfo=UTC)),  # no zone: UTC
        ("2024-01-02T05:04:05+0200", "%Y-%m-%dT%H:%M:%S%z", datetime.datetime(2024, 1, 2, 5, 4, 5, tzinfo=PLUS_2)),
        ("2024-01-02T03:04:05Z", "%Y-%m-%dT%H:%M:%S%z", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("Tue Jan 02 2024 GMT", "%a %b %d %Y %Z", datetime.datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02T03", ISO_8601, datetime.datetime(2024, 1, 2, 3, tzinfo=UTC)),
        ("2024-01-02T05:04:05.678901123+02:00", ISO_8601, MOMENT),
    ],
)
def test_formats_read_as_the_cdk_reads_them(value, fmt, expected):
    parsed = parse_datetime(value, fmt)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        ("1704164645.5", "%s"),  # CDK: int("1704164645.5") fails
        ("2024-01-02T03:04:05", "%Y-%m-%d"),
        ("10**100", "%ms"),
        (10**30, "%s"),
        ("2024-01-02 EST", "%Y-%m-%d %Z"),  # a UTC machine knows UTC and GMT only, whatever this machine's zone is
        ("20240102", "%Y-%m-%d %s"),  # %s is not a strptime directive
        (["2024"], ISO_8601),
    ],
)
def test_what_a_format_does_not_read_is_a_value_error(value, fmt):
    with pytest.raises(ValueError):
        parse_datetime(value, fmt)


def test_formats_are_tried_in_order_and_the_error_names_the_value_and_every_format():
    formats = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d", "%s"]
    assert parse_datetime_any("2024-01-02", formats) == datetime.datetime(2024, 1, 2, tzinfo=UTC)
    assert parse_datetime_any("1704164645", formats) == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    with pytest.raises(DatetimeParseError) as caught:
        parse_datetime_any("02/01/2024", formats, "cursor value")
    assert (
        str(caught.value)
        == "cursor value '02/01/2024' matches none of the formats tried: '%Y-%m-%dT%H:%M:%S%z', '%Y-%m-%d', '%s'"
    )


def test_iso_8601_of_any_precision_is_utc():
    assert parse_iso8601("2024-01-02") == datetime.datetime(2024, 1, 2, tzinfo=UTC)
    assert parse_iso8601("2024-01-02T05:04:05+02:00").tzinfo is UTC
    assert parse_iso8601("20240102T030405Z") == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "expected"),
    [
        ("P1D", datetime.datetime(2024, 2, 28, tzinfo=UTC), datetime.datetime(2024, 2, 29, tzinfo=UTC)),
        ("P7D", datetime.datetime(2024, 12, 28, tzinfo=UTC), datetime.datetime(2025, 1, 4, tzinfo=UTC)),
        ("P1W", datetime.datetime(2024, 12, 28, tzinfo=UTC), datetime.datetime(2025, 1, 4, tzinfo=UTC)),
        ("PT6H", datetime.datetime(2024, 1, 1, 20, tzinfo=UTC), datetime.datetime(2024, 1, 2, 2, tzinfo=UTC)),
        ("PT0.000001S", datetime.datetime(2024, 1, 1, tzinfo=UTC), datetime.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC)),
        # calendar months: the day is kept, or cut to the month's last day
        ("P1M", datetime.datetime(2024, 1, 31, 12, tzinfo=UTC), datetime.datetime(2024, 2, 29, 12, tzinfo=UTC)),
        ("P1M", datetime.datetime(2024, 12, 15, tzinfo=UTC), datetime.datetime(2025, 1, 15, tzinfo=UTC)),
        ("P1Y", datetime.datetime(2024, 2, 29, tzinfo=UTC), datetime.datetime(2025, 2, 28, tzinfo=UTC)),
        ("P1M1D", datetime.datetime(2024, 1, 31, tzinfo=UTC), datetime.datetime(2024, 3, 1, tzinfo=UTC)),
        ("-P1D", datetime.datetime(2024, 3, 1, tzinfo=UTC), datetime.datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_durations_add_as_the_cdk_adds_them(text, start, expected):
    assert add_duration(start, parse_duration(text)) == expected


def test_subtracting_months_cuts_to_the_month_end_too():
    assert subtract_duration(datetime.datetime(2024, 3, 31, tzinfo=UTC), parse_duration("P1M")) == datetime.datetime(
        2024, 2, 29, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["p1d", "1D", "P", "P1D ", "", "P1.5M"])
def test_what_is_not_a_duration_is_one_line_naming_the_setting(text):
    if text == "P1.5M":  # parses, but fractional months cannot be added to a date (isodate)
        with pytest.raises(ValueError, match="fractional"):
            add_duration(MOMENT, parse_duration(text))
        return
    with pytest.raises(DurationError) as caught:
        parse_duration(text, "streams[0].incremental_sync.step")
    assert str(caught.value) == f"streams[0].incremental_sync.step: {text!r} is not an ISO 8601 duration (e.g. P1D, PT6H, P1M)"


def test_a_zero_granularity_is_no_granularity_but_a_calendar_duration_never_is():
    assert is_zero_duration(None)
    assert is_zero_duration(parse_duration("PT0S"))
    assert not is_zero_duration(parse_duration("PT0.000001S"))
    assert not is_zero_duration(parse_duration("P1M"))


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (3, "number"),
        (2.5, "number"),
        ("10", "number"),
        ("-1.5e3", "number"),
        ("2024-01-02", "date-time"),
        ("2024-01-02T03:04:05Z", "date-time"),
        ("02/01/2024", "string"),
        ("abc", "string"),
        (True, "string"),
        (None, "string"),
    ],
)
def test_a_cursor_kind_is_inferred_from_a_value(value, kind):
    assert infer_kind(value) == kind


def test_numbers_compare_as_numbers_even_as_text():
    numbers = CursorValues(kind="number")
    assert numbers.parse("10") > numbers.parse("9")
    assert numbers.parse("1.25") == decimal.Decimal("1.25")
    assert numbers.newest(["9", "10", 2.5]) == "10"
    with pytest.raises(DatetimeParseError, match=r"cursor value True matches none of the formats tried: 'a number'"):
        numbers.parse(True)


def test_date_times_with_offsets_compare_as_instants_in_utc():
    values = CursorValues(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"])
    assert values.parse("2024-01-02T10:00:00+02:00") == datetime.datetime(2024, 1, 2, 8, tzinfo=UTC)
    assert values.parse("2024-01-02T10:00:00+02:00").utcoffset() == datetime.timedelta(0)
    assert values.newest(["2024-01-02T10:00:00+02:00", "2024-01-02T09:00:00Z", "2024-01-01"]) == "2024-01-02T09:00:00Z"


def test_day_first_dates_sort_by_date_not_by_text():
    values = CursorValues(formats=["%d/%m/%Y"])
    assert values.newest(["31/01/2024", "01/02/2024"]) == "01/02/2024"
    assert max(["31/01/2024", "01/02/2024"]) == "31/01/2024"  # what a text comparison would keep


def test_inferred_date_times_mix_dates_and_any_precision():
    values = CursorValues(kind="date-time")
    assert values.parse("2024-01-02") < values.parse("2024-01-02T00:00:00.000001Z")
    assert values.newest(["2024-01-02", "2024-01-01T23:59:59-01:00"]) == "2024-01-01T23:59:59-01:00"
    with pytest.raises(DatetimeParseError, match="cursor value 'soon' matches none of the formats tried: 'iso8601'"):
        values.parse("soon")


def test_text_cursors_compare_as_text_and_refuse_other_values():
    values = CursorValues(kind="string")
    assert values.newest(["b", "a"]) == "b"
    assert values.newest([]) is None
    with pytest.raises(DatetimeParseError):
        values.parse(3)
    with pytest.raises(ValueError, match="needs formats or a kind"):
        CursorValues()
