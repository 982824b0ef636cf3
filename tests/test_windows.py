"""Windows, bookmarks and kept records with the arithmetic of Airbyte's DatetimeBasedCursor.

Expected values marked "CDK" were observed with airbyte-cdk 7.39.1: its ConcurrentCursor built by
ModelToComponentFactory from the same DatetimeBasedCursor definition (stream_slices, observe,
close_partition, state, should_be_synced). A scratch comparison of 4,000 random definitions (formats,
steps, granularities, lookbacks, bookmarks, MinMaxDatetime bounds, clamping, out-of-order finishes)
found no difference."""

from __future__ import annotations

import datetime
import itertools

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tap_restgeneric.datetimes import DatetimeParseError, format_datetime, parse_datetime, parse_duration
from tap_restgeneric.windows import (
    Clamping,
    RecordRange,
    Window,
    WindowBookmarks,
    WindowSpec,
    bounded_datetime,
    iter_windows,
    read_back_through,
)
from tests.time_zones import machine_time_zone  # noqa: F401 - the fixture, used by pytestmark

DAY = "%Y-%m-%d"
SECOND = "%Y-%m-%dT%H:%M:%SZ"
UTC = datetime.timezone.utc
pytestmark = pytest.mark.usefixtures("machine_time_zone")


def spec(start, end, fmt=DAY, step=None, granularity=None, lookback=None, **options):
    return WindowSpec(
        start=parse_datetime(start, fmt),
        end=parse_datetime(end, fmt),
        step=parse_duration(step) if step else None,
        granularity=parse_duration(granularity) if granularity else None,
        lookback=parse_duration(lookback) if lookback else None,
        **options,
    )


def sent(window_spec, bookmark=None, fmt=DAY):
    """The windows as the requests carry them."""
    return [w.formatted(fmt) for w in iter_windows(window_spec, parse_datetime(bookmark, fmt) if bookmark else None)]


def test_non_final_windows_end_one_granularity_before_the_next_and_the_last_ends_at_the_end():
    # CDK: start 2024-01-01, end 2024-03-05, step P30D, granularity P1D
    assert sent(spec("2024-01-01", "2024-03-05", step="P30D", granularity="P1D")) == [
        ("2024-01-01", "2024-01-30"),
        ("2024-01-31", "2024-02-29"),
        ("2024-03-01", "2024-03-05"),
    ]


def test_a_window_that_reaches_the_end_exactly_is_the_last_and_one_granularity_longer():
    # CDK: [01-01, 01-31] is one window although the step is 30 days
    assert sent(spec("2024-01-01", "2024-01-31", step="P30D", granularity="P1D")) == [("2024-01-01", "2024-01-31")]
    assert sent(spec("2024-01-01", "2024-02-01", step="P30D", granularity="P1D")) == [
        ("2024-01-01", "2024-01-30"),
        ("2024-01-31", "2024-02-01"),
    ]


def test_calendar_month_steps_drift_after_a_short_month():
    # CDK: 01-31 + P1M is 02-29, which then steps to 03-29, 04-29...
    assert sent(spec("2024-01-31T00:00:00Z", "2024-06-05T00:00:00Z", SECOND, "P1M", "PT1S"), fmt=SECOND) == [
        ("2024-01-31T00:00:00Z", "2024-02-28T23:59:59Z"),
        ("2024-02-29T00:00:00Z", "2024-03-28T23:59:59Z"),
        ("2024-03-29T00:00:00Z", "2024-04-28T23:59:59Z"),
        ("2024-04-29T00:00:00Z", "2024-05-28T23:59:59Z"),
        ("2024-05-29T00:00:00Z", "2024-06-05T00:00:00Z"),
    ]


def test_a_zero_granularity_makes_windows_share_their_bounds():
    # CDK: cursor_granularity PT0S (67 of Airbyte's manifests) is no granularity
    assert sent(spec("2024-01-01", "2024-01-10", step="P3D", granularity="PT0S")) == [
        ("2024-01-01", "2024-01-04"),
        ("2024-01-04", "2024-01-07"),
        ("2024-01-07", "2024-01-10"),
    ]


def test_without_a_step_there_is_one_window():
    assert sent(spec("2024-01-01", "2024-01-10")) == [("2024-01-01", "2024-01-10")]
    with pytest.raises(ValueError, match="step and cursor_granularity go together"):
        spec("2024-01-01", "2024-01-10", step="P1D")


def test_the_bookmark_is_the_start_inclusively_unless_it_is_before_the_configured_start():
    window_spec = spec("2024-01-01", "2024-01-10", step="P3D", granularity="P1D")
    assert sent(window_spec, "2024-01-05") == [("2024-01-05", "2024-01-07"), ("2024-01-08", "2024-01-10")]
    # CDK: a bookmark before the configured start is ignored; one after the end requests nothing
    assert sent(window_spec, "2023-06-01") == sent(window_spec)
    assert sent(window_spec, "2024-06-01") == []


@pytest.mark.parametrize(
    ("granularity", "strict", "expected"),
    # CDK: a bookmark at the end gives one one-day window, unless there is no granularity or the cursor compares strictly
    [("P1D", False, [("2024-03-05", "2024-03-05")]), ("P1D", True, []), ("PT0S", False, []), ("PT0S", True, [])],
)
def test_a_bookmark_at_the_end(granularity, strict, expected):
    window_spec = spec("2024-01-01", "2024-03-05", step="P30D", granularity=granularity, compare_strictly=strict)
    assert sent(window_spec, "2024-03-05") == expected


def test_lookback_moves_back_only_a_start_taken_from_the_bookmark_and_never_before_the_configured_start():
    assert sent(spec("2024-01-01", "2024-01-10", lookback="P2D")) == [("2024-01-01", "2024-01-10")]
    assert sent(spec("2024-01-01", "2024-01-10", lookback="P2D"), "2024-01-05") == [("2024-01-03", "2024-01-10")]
    assert sent(spec("2024-01-01", "2024-01-10", lookback="P10D"), "2024-01-05") == [("2024-01-01", "2024-01-10")]
    # CDK: start 2024-01-01, end 2024-03-05, P30D/P1D, lookback P3D, state 2024-02-10
    assert sent(spec("2024-01-01", "2024-03-05", step="P30D", granularity="P1D", lookback="P3D"), "2024-02-10") == [
        ("2024-02-07", "2024-03-05")
    ]


def test_min_max_datetime_bounds_the_configured_values():
    assert bounded_datetime("2020-01-01", DAY, minimum="2023-01-01") == datetime.datetime(2023, 1, 1, tzinfo=UTC)
    assert bounded_datetime("2025-01-01", DAY, maximum="2024-06-30") == datetime.datetime(2024, 6, 30, tzinfo=UTC)
    assert bounded_datetime("2024-03-01", DAY, minimum="", maximum="") == datetime.datetime(2024, 3, 1, tzinfo=UTC)
    # CDK: without a format, MinMaxDatetime reads %Y-%m-%dT%H:%M:%S.%f%z, and only that
    assert bounded_datetime("2024-03-01T00:00:00.000000+0000") == datetime.datetime(2024, 3, 1, tzinfo=UTC)
    with pytest.raises(DatetimeParseError) as caught:
        bounded_datetime("2024-03-01", None, where="streams[0].incremental_sync.start_datetime")
    assert str(caught.value) == (
        "streams[0].incremental_sync.start_datetime '2024-03-01' matches none of the formats tried: '%Y-%m-%dT%H:%M:%S.%f%z'"
    )


@pytest.mark.parametrize(
    ("clamping", "expected"),
    [
        # CDK: windows aligned on days, Thursdays, months; the end moves to the boundary before, less the granularity
        (Clamping("DAY"), [("2024-01-03T00:00:00Z", "2024-01-09T23:59:59Z"), ("2024-01-10T00:00:00Z", "2024-01-14T23:59:59Z")]),
        (Clamping("WEEK", weekday=3), [("2024-01-04T00:00:00Z", "2024-01-10T23:59:59Z")]),
        (Clamping("MONTH"), []),
    ],
)
def test_clamping_aligns_windows(clamping, expected):
    window_spec = spec("2024-01-02T10:00:00Z", "2024-01-15T12:00:00Z", SECOND, "P7D", "PT1S", clamping=clamping)
    assert sent(window_spec, fmt=SECOND) == expected


moments = st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2030, 1, 1), timezones=st.just(UTC))  # noqa: DTZ001 - hypothesis bounds are naive
steps = st.sampled_from(["PT1H", "PT6H", "P1D", "P7D", "P30D", "P1M", "P1Y"])
granularities = st.sampled_from(["PT1S", "PT0.000001S", "P1D", "PT0S"])


@given(moments, st.integers(0, 3 * 365 * 24), steps, granularities, st.one_of(st.none(), moments))
def test_windows_tile_the_range_from_the_start_to_the_end(start, hours, step, granularity, bookmark):
    assume(not (granularity == "P1D" and step.startswith("PT")))  # a granularity longer than the step: see below
    window_spec = WindowSpec(
        start=start,
        end=start + datetime.timedelta(hours=hours),
        step=parse_duration(step),
        granularity=parse_duration(granularity),
    )
    windows = list(itertools.islice(iter_windows(window_spec, bookmark), 5000))
    first = window_spec.sync_start(bookmark)
    if not windows:
        assert first > window_spec.end or (first == window_spec.end and granularity == "PT0S")
        return
    assert windows[0].start == first
    if len(windows) < 5000:
        assert windows[-1].end == window_spec.end
    gap = window_spec.effective_granularity or datetime.timedelta(0)
    for before, after in itertools.pairwise(windows):
        assert before.end + gap == after.start
        assert after.start == before.start + parse_duration(step)
        assert before.start <= before.end


def test_a_granularity_longer_than_the_step_gives_windows_that_end_before_they_start():
    # CDK: step PT6H, granularity P1D (nothing refuses it)
    assert sent(spec("2024-01-01T00:00:00Z", "2024-01-01T20:00:00Z", SECOND, "PT6H", "P1D"), fmt=SECOND) == [
        ("2024-01-01T00:00:00Z", "2023-12-31T06:00:00Z"),
        ("2024-01-01T06:00:00Z", "2023-12-31T12:00:00Z"),
        ("2024-01-01T12:00:00Z", "2023-12-31T18:00:00Z"),
        ("2024-01-01T18:00:00Z", "2024-01-01T20:00:00Z"),
    ]


def finished(window_spec, bookmark, records, order, fmt=DAY):
    """The bookmarks checkpointed as windows finish in ``order``; ``records`` maps a window index to its cursor values."""
    windows = list(iter_windows(window_spec, parse_datetime(bookmark, fmt) if bookmark else None))
    bookmarks = WindowBookmarks(window_spec, parse_datetime(bookmark, fmt) if bookmark else None, read_back_through(fmt))
    checkpoints = []
    for index in order:
        for value in records.get(index, []):
            bookmarks.observe(windows[index], parse_datetime(value, fmt))
        checkpoints.append(format_datetime(bookmarks.finish(windows[index]), fmt))
    return checkpoints


THREE_WINDOWS = spec("2024-01-01", "2024-03-05", step="P30D", granularity="P1D")


def test_the_bookmark_is_the_newest_value_of_the_finished_windows():
    records = {0: ["2024-01-20", "2024-01-05"], 1: ["2024-02-03"], 2: ["2024-03-04", "2024-03-01"]}
    assert finished(THREE_WINDOWS, None, records, [0, 1, 2]) == ["2024-01-20", "2024-02-03", "2024-03-04"]


def test_a_window_finished_ahead_of_an_unfinished_one_moves_nothing_until_the_gap_closes():
    records = {0: ["2024-01-20"], 1: ["2024-02-03"], 2: ["2024-03-04"]}
    assert finished(THREE_WINDOWS, None, records, [2, 1, 0]) == ["2024-01-01", "2024-01-01", "2024-03-04"]
    assert finished(THREE_WINDOWS, None, records, [0, 2, 1]) == ["2024-01-20", "2024-01-20", "2024-03-04"]


def test_windows_without_records_keep_the_start_of_the_sync():
    # CDK: a sync that reads nothing checkpoints its start (the configured start, or the bookmark)
    assert finished(THREE_WINDOWS, None, {}, [0, 1, 2]) == ["2024-01-01"] * 3
    assert finished(THREE_WINDOWS, "2024-02-10", {}, [0]) == ["2024-02-10"]


def test_a_record_older_than_the_bookmark_does_not_move_it_back():
    assert finished(THREE_WINDOWS, "2024-02-10", {0: ["2024-02-01"]}, [0]) == ["2024-02-10"]


def test_a_format_coarser_than_the_granularity_keeps_the_bookmark_in_the_first_window():
    """CDK: with %Y-%m-%d and PT1S, a window's end reads back as midnight, one second short of the
    next window's start: the windows never join and the bookmark stays in the first one (a later
    run reads the rest again)."""
    coarse = spec("2024-01-01", "2024-03-05", step="P30D", granularity="PT1S")
    records = {0: ["2024-01-20"], 1: ["2024-02-20"], 2: ["2024-03-04"]}
    assert finished(coarse, None, records, [0, 1, 2]) == ["2024-01-20"] * 3


@given(st.randoms(use_true_random=False))
def test_the_final_bookmark_does_not_depend_on_the_order_windows_finish_in(rnd):
    window_spec = spec("2024-01-01", "2024-12-31", step="P7D", granularity="P1D")
    windows = list(iter_windows(window_spec))
    records = {
        i: [format_datetime(w.start + (w.end - w.start) * rnd.random(), DAY)] for i, w in enumerate(windows) if rnd.random() < 0.7
    }
    order = list(range(len(windows)))
    rnd.shuffle(order)
    checkpoints = finished(window_spec, None, records, order)
    assert checkpoints[-1] == max(value for values in records.values() for value in values)
    done: set[int] = set()
    for index, checkpoint in zip(order, checkpoints):
        done.add(index)
        prefix = list(itertools.takewhile(done.__contains__, range(len(windows))))
        newest = [value for i in prefix for value in records.get(i, [])]
        assert checkpoint == max([*newest, "2024-01-01"])  # never a value from beyond a gap


def test_a_bookmark_counts_pending_windows():
    bookmarks = WindowBookmarks(THREE_WINDOWS)
    windows = list(iter_windows(THREE_WINDOWS))
    bookmarks.finish(windows[2])
    assert bookmarks.pending == 1
    bookmarks.finish(windows[0])
    bookmarks.finish(windows[1])
    assert bookmarks.pending == 0


def test_records_are_kept_from_the_bookmark_to_the_end_inclusive_whatever_their_window():
    kept = RecordRange.of(THREE_WINDOWS, parse_datetime("2024-02-01", DAY))
    at = lambda text: parse_datetime(text, DAY)  # noqa: E731
    # CDK: should_be_synced, state 2024-02-01, end 2024-03-05
    assert [kept.admits(at(d)) for d in ("2024-01-31", "2024-02-01", "2024-03-05", "2024-03-06")] == [False, True, True, False]
    assert kept.admits(None)  # CDK: a record without a cursor value is kept
    # the sync's range, not the window's: a record of January read in the last window is kept
    assert kept.admits(at("2024-02-02"))
    assert not Window(at("2024-03-01"), at("2024-03-05")).contains(at("2024-02-02"))


def test_lookback_widens_the_kept_records_but_not_before_the_configured_start():
    with_lookback = spec("2024-01-01", "2024-03-05", lookback="P3D")
    assert RecordRange.of(with_lookback, parse_datetime("2024-02-10", DAY)).lower == parse_datetime("2024-02-07", DAY)
    assert RecordRange.of(with_lookback, parse_datetime("2024-01-02", DAY)).lower == parse_datetime("2024-01-01", DAY)


def test_a_data_feed_stops_at_a_page_whose_last_record_is_outside_the_range():
    kept = RecordRange.of(THREE_WINDOWS, parse_datetime("2024-02-01", DAY))
    assert not kept.stops_feed(parse_datetime("2024-02-01", DAY))
    assert kept.stops_feed(parse_datetime("2024-01-31", DAY))
    assert kept.stops_feed(parse_datetime("2024-03-06", DAY))  # CDK: newer than the end stops it too
    assert not kept.stops_feed(None)


def test_windows_are_lazy():
    tiny_steps = WindowSpec(
        start=datetime.datetime(2000, 1, 1, tzinfo=UTC),
        end=datetime.datetime(2030, 1, 1, tzinfo=UTC),
        step=parse_duration("PT1S"),
        granularity=parse_duration("PT0.000001S"),
    )
    first = next(iter_windows(tiny_steps))
    assert first == Window(tiny_steps.start, tiny_steps.start + datetime.timedelta(microseconds=999999))
