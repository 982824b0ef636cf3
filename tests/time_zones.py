"""The machine's time zone, changed for a test: results that depend on it are bugs."""

from __future__ import annotations

import time

import pytest

#: UTC, the far east (+14:00, a date ahead of UTC) and a half-hour zone behind UTC with summer time,
#: as POSIX TZ strings: they need no time zone database on the machine.
MACHINE_TIME_ZONES = ["UTC0", "KIR-14", "NST3:30NDT,M3.2.0,M11.1.0"]


@pytest.fixture(params=MACHINE_TIME_ZONES)
def machine_time_zone(request, monkeypatch):
    """Runs the test once per machine time zone (``TZ`` plus ``time.tzset``)."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()
