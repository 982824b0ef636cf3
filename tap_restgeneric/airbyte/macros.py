"""The Airbyte CDK's interpolation macros and filters (airbyte-cdk 7.39.1, macros.py and filters.py),
with "now" read from an injected clock and nothing read from the machine's time zone.

Where the CDK asks the machine (``strftime('%s')`` takes the wall clock as local time), the result
is the one the CDK gives in its container, whose zone is UTC.
"""

from __future__ import annotations

import base64
import builtins
import datetime
import hashlib
import hmac as hmac_module
import json
import re
import typing as t
import urllib.parse
import uuid
import zoneinfo

from tap_restgeneric import datetimes
from tap_restgeneric.datetimes import (
    DEFAULT_DATETIME_FORMAT,
    UTC,
    Duration,
    parse_datetime,
    parse_duration,
    parse_iso8601,
    strftime,
    strptime,
)

#: What the macros read "now" from: an aware datetime (a naive one is taken as UTC).
Clock = t.Callable[[], datetime.datetime]


def utc_now(clock: Clock) -> datetime.datetime:
    moment = clock()
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)


def str_to_datetime(text: str) -> datetime.datetime:
    """ISO 8601 of any precision (dateutil's isoparse), UTC when no zone is given, returned in UTC."""
    return parse_iso8601(text)


def timestamp(value: t.Any) -> int | float:
    """A number truncated to an int; text parsed as ISO 8601 to epoch seconds, a float."""
    if isinstance(value, (int, float)):
        return int(value)
    return str_to_datetime(value).timestamp()


def duration(text: str) -> Duration:
    """An ISO 8601 duration (``P1D``: a timedelta; ``P1M``: calendar months)."""
    return parse_duration(text, "duration()")


def format_datetime(value: t.Any, fmt: str, input_format: str | None = None) -> str:
    """``value`` (a datetime, epoch seconds, or text) written in ``fmt``.

    As the CDK: a datetime is written with plain ``strftime`` (so ``%ms`` is the month then ``s``);
    a number is read with ``input_format`` (default ``%s``) in Airbyte's vocabulary; text is read
    with ``strptime(input_format)`` or else as ISO 8601; the result is written in Airbyte's vocabulary."""
    if isinstance(value, datetime.datetime):
        return strftime(value, fmt)
    if isinstance(value, int):
        moment = parse_datetime(value, input_format or "%s")
    else:
        moment = strptime(value, input_format) if input_format else str_to_datetime(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return datetimes.format_datetime(moment, fmt)


def sanitize_url(value: str) -> str:
    return urllib.parse.quote_plus(value)


def camel_case_to_snake_case(value: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", value).lower()


def macros(clock: Clock, new_uuid: t.Callable[[], str] = lambda: str(uuid.uuid4())) -> dict[str, t.Callable[..., t.Any]]:
    """The CDK's macros, "now" read from ``clock``."""

    def now_utc() -> datetime.datetime:
        return utc_now(clock)

    def today_utc() -> datetime.date:
        return utc_now(clock).date()

    def today_with_timezone(timezone: str) -> datetime.date:
        try:
            zone = zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"today_with_timezone(): unknown time zone {timezone!r}") from None
        return utc_now(clock).astimezone(zone).date()

    def day_delta(num_days: int, format: str = DEFAULT_DATETIME_FORMAT) -> str:  # noqa: A002 - the CDK's keyword
        return strftime(utc_now(clock) + datetime.timedelta(days=num_days), format)

    def generate_uuid() -> str:
        return new_uuid()

    return {
        "now_utc": now_utc,
        "today_utc": today_utc,
        "timestamp": timestamp,
        "max": builtins.max,
        "min": builtins.min,
        "day_delta": day_delta,
        "duration": duration,
        "format_datetime": format_datetime,
        "today_with_timezone": today_with_timezone,
        "str_to_datetime": str_to_datetime,
        "sanitize_url": sanitize_url,
        "camel_case_to_snake_case": camel_case_to_snake_case,
        "generate_uuid": generate_uuid,
    }


# ---------------------------------------------------------------------------------------------------------------
# filters


def hash_filter(value: t.Any, hash_type: str = "md5", salt: str | None = None) -> str:
    """Hex digest of ``str(value)`` then ``salt`` (the CDK reads any hashlib attribute; here only its algorithms)."""
    if hash_type not in hashlib.algorithms_guaranteed or hash_type.startswith("shake_"):
        raise AttributeError(f"No hashing function named {hash_type}")
    digest = hashlib.new(hash_type)
    digest.update(str(value).encode("utf-8"))
    if salt:
        digest.update(str(salt).encode("utf-8"))
    return digest.hexdigest()


def base64encode(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode()


def base64decode(value: str) -> str:
    return base64.b64decode(value.encode("utf-8")).decode()


def base64binascii_decode(value: str) -> str:
    """Despite its name, the CDK's filter *encodes* (standard base64 of the ASCII text)."""
    return base64.standard_b64encode(value.encode("ascii")).decode("ascii")


def string(value: t.Any) -> str:
    """Text as it is; anything else as JSON in triple quotes, so that rendering keeps it a string."""
    return value if isinstance(value, str) else f'"""{json.dumps(value)}"""'


def regex_search(value: str, regex: str) -> str:
    """The first group of the first match, or an empty string."""
    match = re.search(regex, value)
    return match.group(1) if match and match.groups() else ""


def regex_replace(value: str, regex: str, replacement: str) -> str:
    return re.sub(regex, replacement, value)


def hmac_filter(value: t.Any, key: str, hash_type: str = "sha256") -> str:
    if hash_type != "sha256":
        raise ValueError(f"Hash type '{hash_type}' is not allowed. Allowed types: sha256")
    return hmac_module.new(str(key).encode("utf-8"), str(value).encode("utf-8"), hashlib.sha256).hexdigest()


FILTERS: dict[str, t.Callable[..., t.Any]] = {
    "hash": hash_filter,
    "base64encode": base64encode,
    "base64decode": base64decode,
    "base64binascii_decode": base64binascii_decode,
    "string": string,
    "regex_search": regex_search,
    "regex_replace": regex_replace,
    "hmac": hmac_filter,
}
