"""The ``reports`` API (not a preset): a billing-report API that caps a query's date range.

For date windows and list partitions. Bearer auth (the sandbox's secret).

- ``GET /reports/v1/accounts/{account}/activity?start_date=YYYY-MM-DD&end_date=YYYY-MM-DD&page=N``:
  the account's activity whose ``updated_at`` day is in ``[start_date, end_date]`` (both inclusive),
  :data:`PAGE_SIZE` per page, as ``{"data": [...], "page": N, "total_pages": M}``. Records inside a
  range come **unsorted** (a fixed shuffle). A range longer than :data:`MAX_DAYS` days, a missing or
  malformed date, or an end before the start is a 400 naming the problem; an unknown account a 404.
  ``order=asc``: sorted by ``updated_at``; ``order=desc``: newest first (a data feed).
- ``GET /reports/v1/accounts``: the accounts, one page.
- ``GET /reports/v1/activity/{id}/lines``: an activity's line items (one or two), one page (a child
  of activity records).

Each account has an activity every :data:`EVERY_HOURS` hours from 2024-01-01 to the end of 2025
(:func:`activity`), ids ``<account>-<n>``.
"""

from __future__ import annotations

import datetime
import math
import re
import typing as t

from tap_restgeneric.sandbox.fields import EPOCH_2024, ApiSpec, iso, mix
from tap_restgeneric.sandbox.protocol import Response, error_response, int_param, json_body, last_param

ACCOUNTS = ("acme", "globex", "initech")
#: The longest range a request may ask for, in days (both ends inclusive: 31 days is start + 30).
MAX_DAYS = 31
PAGE_SIZE = 10
EVERY_HOURS = 29
#: Activities per account: two years, one every EVERY_HOURS hours.
COUNT = (731 * 24) // EVERY_HOURS
REPORTS_AUTH = ApiSpec("reports", ("bearer", ""), "reports", "data")
_ACTIVITY = re.compile(r"^/v1/accounts/([^/]+)/activity$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LINES = re.compile(r"^/v1/activity/([a-z]+)-(\d+)/lines$")


def activity(account: str, n: int) -> dict:
    """The ``n``-th activity of ``account`` (0-based)."""
    offset = ACCOUNTS.index(account) * 3600
    return {
        "id": f"{account}-{n}",
        "account": account,
        "kind": ("charge", "refund", "payout")[mix(n, ACCOUNTS.index(account)) % 3],
        "amount": mix(n, 7) % 10_000,
        "updated_at": iso(EPOCH_2024 + n * EVERY_HOURS * 3600 + offset),
    }


def activities(account: str) -> list[dict]:
    return [activity(account, n) for n in range(COUNT)]


def _day(query: dict, name: str) -> datetime.date | str:
    text = last_param(query, name)
    if text is None or not _DAY.match(text):
        return f"{name} is required as YYYY-MM-DD, got {text!r}"
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return f"{name} is not a date: {text!r}"


def answer(rest: str, query: dict, max_days: int = MAX_DAYS) -> Response:
    """Answer ``GET /reports<rest>`` (``max_days``: the longest range, both ends inclusive)."""
    rest = "/" + rest.strip("/")
    if rest == "/v1/accounts":
        return Response(200, json_body({"data": [{"id": name} for name in ACCOUNTS]}))
    lines = _LINES.match(rest)
    if lines is not None and lines.group(1) in ACCOUNTS:
        activity_id, n = f"{lines.group(1)}-{lines.group(2)}", int(lines.group(2))
        return Response(
            200, json_body({"data": [{"id": f"{activity_id}-L{k}", "activity_id": activity_id} for k in range(1 + n % 2)]})
        )
    match = _ACTIVITY.match(rest)
    if match is None:
        return error_response(404, "not found")
    account = match.group(1)
    if account not in ACCOUNTS:
        return error_response(404, f"no account {account!r}")
    start, end = _day(query, "start_date"), _day(query, "end_date")
    if isinstance(start, str) or isinstance(end, str):
        return error_response(400, start if isinstance(start, str) else t.cast("str", end))
    if end < start:
        return error_response(400, f"end_date {end} is before start_date {start}")
    if (end - start).days + 1 > max_days:
        return error_response(400, f"the range may not exceed {max_days} days ({start} to {end} is {(end - start).days + 1})")
    found = [a for a in activities(account) if start.isoformat() <= a["updated_at"][:10] <= end.isoformat()]
    if last_param(query, "order") in ("asc", "desc"):  # sorted on request (desc: a data feed, newest first)
        found.sort(key=lambda a: a["updated_at"], reverse=last_param(query, "order") == "desc")
    else:
        found.sort(key=lambda a: mix(int(a["id"].rsplit("-", 1)[1]), 99))  # unsorted within a range
    page = int_param(query, "page", 1, 1)
    pages = max(1, math.ceil(len(found) / PAGE_SIZE))
    chunk = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return Response(200, json_body({"data": chunk, "page": page, "total_pages": pages}))
