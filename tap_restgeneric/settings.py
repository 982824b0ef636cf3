"""The tap's settings: checked before anything runs, then one typed ``Settings`` object passed down.

Numbers arrive as strings from ``--config ENV`` and from Meltano settings of kind ``string``
(Meltano 4 crashes on a ``decimal`` setting given through its environment variable), so a
numeric setting is accepted as a number or a numeric string and becomes a number
(:func:`check_settings`). Every setting is then checked against the tap's config schema (types,
and the ranges it states with ``minimum`` / ``exclusiveMinimum``), and ``start_date`` must be an
ISO 8601 date or date-time: a value such as ``yesterday`` would otherwise be sent as is and drop
every record.

:class:`Settings` is what the rest of the tap reads, built once by the tap from the checked config
(the SDK has filled in the schema's defaults by then; the defaults here are the same, and
``tests/test_settings.py`` holds them to the schema). Nothing else reads the config.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import os
import typing as t

import jsonschema

from tap_restgeneric.errors import format_path
from tap_restgeneric.output.batches import batch_config_problems
from tap_restgeneric.output.redact import excerpt
from tap_restgeneric.schema_inference import schema_types
from tap_restgeneric.values import parse_date

#: The defaults of the settings that have one (the tap's config schema states them too).
DEFAULT_REQUEST_TIMEOUT = 60
DEFAULT_MAX_RESPONSE_MB = 128
#: Requests in flight at once across the tap (the max_concurrency default): at 200 ms a response,
#: 16 keep a fan-out of single-page children over ten times faster than one request at a time,
#: and every request is still under max_requests_per_second and Retry-After pauses.
DEFAULT_MAX_CONCURRENCY = 16
#: Streams requested at once (the stream_concurrency default): the presets' streams (up to 14) are
#: fetched eight at a time, so a preset takes about its two longest chains of requests.
DEFAULT_STREAM_CONCURRENCY = 8
#: MiB of response bodies fetched ahead and not read yet, across the tap (a page's parsed records take
#: about as much again).
DEFAULT_MAX_BUFFER_MB = 32
#: Pages one stream may request: far beyond any real stream, a stop for a runaway one.
DEFAULT_MAX_PAGES = 1_000_000
#: Parents an incremental child resource keeps a bookmark for.
DEFAULT_MAX_PARENT_BOOKMARKS = 10_000
#: Partitions (list partitions) a windowed resource keeps a bookmark for (Airbyte's cap too).
DEFAULT_MAX_PARTITION_BOOKMARKS = 10_000
USER_AGENT = "tap-restgeneric/0.1"
#: Fixes the instant a sync takes for "now" (an ISO 8601 date-time with its offset): for tests and the
#: Airbyte oracle, whose goldens were made with the CDK's clock frozen. Not a setting users need.
NOW_ENV = "TAP_RESTGENERIC_TEST_NOW"
_MIB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Settings:
    """The tap's settings, typed, with their defaults (one field per setting of the config schema)."""

    api: str | None = None
    source: t.Any = None
    source_file: str | None = None
    base_url: str | None = None
    secrets: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    #: The connector config of an Airbyte manifest (``source_file``/``source``), checked against its spec.
    manifest_config: t.Mapping[str, t.Any] | None = None
    start_date: str | None = None
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_response_mb: float = DEFAULT_MAX_RESPONSE_MB
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    stream_concurrency: int = DEFAULT_STREAM_CONCURRENCY
    max_buffer_mb: float = DEFAULT_MAX_BUFFER_MB
    max_pages: int = DEFAULT_MAX_PAGES
    total_mismatch: str = "warn"
    schema_contract: str = "evolve"
    on_missing_key: str = "error"
    max_parent_bookmarks: int = DEFAULT_MAX_PARENT_BOOKMARKS
    max_partition_bookmarks: int = DEFAULT_MAX_PARTITION_BOOKMARKS
    max_requests_per_second: float | None = None
    record_dir: str | None = None
    replay_dir: str | None = None
    metrics_log_level: str | None = None
    user_agent: str = USER_AGENT
    #: Where rotated OAuth2 refresh tokens are kept (None: ``tokens.json`` in the user's state directory).
    token_store: str | None = None
    #: The SDK's own setting (BATCH messages); checked by ``output.batches``.
    batch_config: t.Mapping[str, t.Any] | None = None
    #: What ``config`` names in a template: the config except ``secrets`` (so that a secret is only
    #: ever read as ``secrets.NAME``, and so known to be a credential), every key as given.
    template_config: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    #: The one "now" of a sync (the end of its date windows, ``now_utc()`` in templates), taken when the
    #: settings are built, in UTC; ``TAP_RESTGENERIC_TEST_NOW`` fixes it.
    now: datetime.datetime = dataclasses.field(default_factory=lambda: sync_now(os.environ))

    @classmethod
    def of(cls, config: t.Mapping[str, t.Any]) -> Settings:
        """The settings of a checked config (a missing or null value: the default)."""
        given = {field.name: config[field.name] for field in dataclasses.fields(cls) if config.get(field.name) is not None}
        given.pop("template_config", None)
        secrets = config.get("secrets")
        given["secrets"] = dict(secrets) if isinstance(secrets, t.Mapping) else {}
        return cls(**given, template_config={key: value for key, value in config.items() if key != "secrets"})

    @property
    def max_response_bytes(self) -> int:
        return int(float(self.max_response_mb) * _MIB)

    @property
    def max_buffer_bytes(self) -> int:
        return int(float(self.max_buffer_mb) * _MIB)


def sync_now(environ: t.Mapping[str, str]) -> datetime.datetime:
    """The instant a sync takes for "now": ``TAP_RESTGENERIC_TEST_NOW`` when set (checked by
    :func:`check_settings`), else the clock, in UTC."""
    fixed = _fixed_now(environ.get(NOW_ENV))
    return fixed or datetime.datetime.now(datetime.timezone.utc)


def _fixed_now(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    moment = parse_date(text)
    if moment is None or moment.tzinfo is None:
        return None
    return moment.astimezone(datetime.timezone.utc)


def _setting_number(name: str, value: t.Any, integer: bool) -> tuple[t.Any, str | None]:
    if isinstance(value, bool):
        return value, f"{name}: expected a number, got {value!r}"
    if isinstance(value, (str, decimal.Decimal, float)) and not isinstance(value, int):
        try:
            parsed = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation:
            return value, f"{name}: expected a number, got {value!r}"
        if not parsed.is_finite():
            return value, f"{name}: expected a number, got {value!r}"
        if integer:
            if parsed != parsed.to_integral_value():
                return value, f"{name}: expected a whole number, got {value!r}"
            return int(parsed), None
        return (int(parsed) if parsed == parsed.to_integral_value() and "." not in str(value) else float(parsed)), None
    return value, None


def secrets_from_environment(config: dict[str, t.Any], prefix: str, environ: t.Mapping[str, str]) -> dict[str, t.Any]:
    """``--config ENV``'s config with one variable per secret: ``<prefix><NAME>`` (``TAP_RESTGENERIC_SECRETS_<NAME>``)
    is ``secrets.<name>`` lower-cased (the variable Meltano derives for a sub-setting), over the same name
    in ``TAP_RESTGENERIC_SECRETS``."""
    named = {name[len(prefix) :].lower(): value for name, value in environ.items() if name.startswith(prefix) and name != prefix}
    if named:
        secrets = config.get("secrets")
        config["secrets"] = {**(secrets if isinstance(secrets, dict) else {}), **named}
    return config


def secret_values(config: t.Mapping[str, t.Any]) -> list[t.Any]:
    """The values of the ``secrets`` setting as given, before any check (to be redacted from the start)."""
    secrets = config.get("secrets")
    return list(secrets.values()) if isinstance(secrets, t.Mapping) else []


def check_settings(settings: t.Mapping[str, t.Any], schema: t.Mapping[str, t.Any]) -> tuple[dict[str, t.Any], list[str]]:
    """(the settings with numbers parsed, the problems found: one line each, naming the setting)."""
    checked, problems = _checked(settings, schema)
    if checked.get("batch_config") is not None:
        problems += batch_config_problems(checked["batch_config"])
    return checked, problems


def _checked(settings: t.Mapping[str, t.Any], schema: t.Mapping[str, t.Any]) -> tuple[dict[str, t.Any], list[str]]:
    checked = dict(settings)
    problems: list[str] = []
    properties = schema.get("properties", {})
    for name, prop in properties.items():
        types = schema_types(prop)
        if checked.get(name) is None or not {"integer", "number"} & set(types):
            continue
        checked[name], problem = _setting_number(name, checked[name], integer="number" not in types)
        if problem:
            problems.append(problem)
    if problems:
        return checked, problems
    for error in sorted(jsonschema.Draft7Validator(schema).iter_errors(checked), key=lambda e: list(map(str, e.absolute_path))):
        where = format_path(error.absolute_path) or "(settings)"
        if error.validator in ("minimum", "exclusiveMinimum", "maximum"):
            relation = {"minimum": "at least", "exclusiveMinimum": "greater than", "maximum": "at most"}[str(error.validator)]
            problems.append(f"{where}: must be {relation} {error.validator_value}, got {error.instance!r}")
        elif error.validator == "type":
            expected = " or ".join(t_ for t_ in schema_types({"type": error.validator_value}) if t_ != "null")
            problems.append(excerpt(f"{where}: expected {expected}, got {error.instance!r}", 300))
        elif error.validator != "format":
            problems.append(excerpt(f"{where}: {error.message}", 300))
    fixed_now = os.environ.get(NOW_ENV)
    if fixed_now and _fixed_now(fixed_now) is None:
        problems.append(f"{NOW_ENV}: {fixed_now!r} is not an ISO 8601 date-time with its offset (e.g. 2026-01-15T12:34:56Z)")
    start_date = checked.get("start_date")
    if isinstance(start_date, str) and parse_date(start_date) is None:
        problems.append(
            f"start_date: {start_date!r} is not an ISO 8601 date or date-time (e.g. 2024-01-31 or 2024-01-31T00:00:00Z)"
        )
    return checked, problems
