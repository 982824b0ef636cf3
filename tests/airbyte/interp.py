"""Jinja rendering close enough to the CDK's for the mock API to predict what the CDK will send and
read: its macros (now_utc, today_utc, day_delta, duration, format_datetime, ...) with a fixed "now",
and the `ast.literal_eval` the CDK applies to a rendered value. Only the mock uses it."""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import typing as t

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from tap_restgeneric.airbyte.interpolation import literal_value
from tests.airbyte import timefmt

UTC = datetime.timezone.utc
_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def parse_duration(text: str) -> datetime.timedelta:
    """An ISO 8601 duration; a month counts 30 days and a year 365 (the mock needs no calendar)."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    years, months, weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return datetime.timedelta(days=years * 365 + months * 30 + weeks * 7 + days, hours=hours, minutes=minutes, seconds=seconds)


def _to_datetime(value: t.Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=UTC)
    parsed = timefmt.parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a datetime: {value!r}")
    return parsed


def environment(now: datetime.datetime, strict: bool = False) -> SandboxedEnvironment:
    """Strict: an undefined name raises (to tell a path's partition placeholders from its config ones);
    lenient: it renders empty, as in the CDK."""
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined if strict else jinja2.Undefined)

    def format_datetime(value: t.Any, fmt: str, input_format: str | None = None) -> str:
        if input_format and isinstance(value, str):
            parsed = timefmt.parse_datetime(value, [input_format])
            value = parsed if parsed is not None else value
        return timefmt.format_datetime(_to_datetime(value), fmt)

    env.globals.update(
        now_utc=lambda: now,
        today_utc=now.date,
        today_with_timezone=lambda _tz: now.date(),
        timestamp=lambda value: int(_to_datetime(value).timestamp()),
        max=max,
        min=min,
        day_delta=lambda days, format="%Y-%m-%dT%H:%M:%S.%f%z": (now + datetime.timedelta(days=days)).strftime(format),  # noqa: A006
        duration=parse_duration,
        format_datetime=format_datetime,
        str_to_datetime=_to_datetime,
        camel_case_to_snake_case=lambda s: re.sub(r"(?<!^)(?=[A-Z])", "_", s).lower(),
        generate_uuid=lambda: "00000000-0000-4000-8000-000000000000",
        sanitize_url=lambda url: url,
    )
    env.filters.update(
        hash=lambda value, algorithm="md5", salt=None: hashlib.new(algorithm, f"{value}{salt or ''}".encode()).hexdigest(),
        base64encode=lambda value: base64.b64encode(str(value).encode()).decode(),
        base64decode=lambda value: base64.b64decode(str(value)).decode(),
        string=str,
        regex_search=lambda value, pattern: m.group(1) if (m := re.search(pattern, str(value))) and m.groups() else None,
    )
    return env


def render(env: SandboxedEnvironment, template: str, context: dict[str, t.Any]) -> str:
    """The template's text (raises jinja2 errors, StrictUndefined included)."""
    return env.from_string(template).render(context)


def evaluate(env: SandboxedEnvironment, template: t.Any, context: dict[str, t.Any]) -> t.Any:
    """A rendered value as the CDK takes it: `ast.literal_eval` of the text when that succeeds (the tap's
    `literal_value`, one implementation of the rule)."""
    if not isinstance(template, str):
        return template
    return literal_value(render(env, template, context))


def truthy(env: SandboxedEnvironment, template: t.Any, context: dict[str, t.Any]) -> bool:
    """An InterpolatedBoolean-like reading: the evaluated value's truth; an unrenderable one is false."""
    try:
        value = evaluate(env, template, context)
    except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError, IndexError):
        return False
    if isinstance(value, str):
        return value.strip().lower() not in {"", "false", "none", "0"}
    return bool(value)
