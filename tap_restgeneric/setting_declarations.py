"""The tap's settings as the SDK declares them: names, types, defaults and the descriptions ``--about``,
meltano.yml and the Hub definition show (settings.Settings reads them into a typed object)."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_restgeneric.schema_drift import MODES
from tap_restgeneric.settings import (
    DEFAULT_MAX_BUFFER_MB,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_PAGES,
    DEFAULT_MAX_PARENT_BOOKMARKS,
    DEFAULT_MAX_PARTITION_BOOKMARKS,
    DEFAULT_MAX_RESPONSE_MB,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_STREAM_CONCURRENCY,
)
from tap_restgeneric.source import PRESETS
from tap_restgeneric.streams.progress import METRICS_LOG_LEVEL


def _choice(name: str, values: list[str], description: str) -> th.Property:
    """A setting that is one of ``values``, the first by default."""
    return th.Property(name, th.StringType(allowed_values=values), default=values[0], description=description)


def _setting(name: str, kind: th.JSONTypeHelper, default: t.Any, description: str) -> th.Property:
    """A setting with a default (a limit, most of them)."""
    return th.Property(name, kind, default=default, description=description)


#: The tap's settings (``--about`` documents them; meltano.yml and the Hub definition declare them).
SETTINGS = th.PropertiesList(
    th.Property(
        "api",
        th.StringType,
        description=f"A bundled preset to run: one of {', '.join(PRESETS)}. Set exactly one of api, source, source_file.",
    ),
    th.Property(
        "source",
        th.ObjectType(additional_properties=True),
        description="An inline source config in dlt's rest_api_source dialect (client, resource_defaults, resources).",
    ),
    th.Property(
        "source_file",
        th.StringType,
        description=(
            "Path to a YAML or JSON file holding a source config in dlt's rest_api_source dialect, or an Airbyte "
            "declarative manifest (manifest.yaml); a relative path is relative to the Meltano project root when Meltano "
            "runs the tap, else to the current directory."
        ),
    ),
    th.Property(
        "manifest_config",
        th.ObjectType(additional_properties=True),
        secret=True,  # it holds the connector's credentials (the spec's airbyte_secret fields)
        description=(
            "The connector config of an Airbyte declarative manifest given as source_file or source (what the "
            "manifest's spec.connection_specification describes, e.g. api_key, start_date); checked against that "
            "spec before any request. Fields the spec marks airbyte_secret are secrets: redacted, sent only to the API."
        ),
    ),
    th.Property(
        "base_url",
        th.StringType,
        description="Overrides client.base_url of the source (the presets say https://api.example.com).",
    ),
    th.Property(
        "secrets",
        th.ObjectType(additional_properties=th.CustomType({"type": ["string", "null"]})),
        secret=True,
        description=(
            'Named secrets, referenced in the source as {{ secrets.NAME }} (dlt\'s dlt.secrets["NAME"]). '
            "The presets use api_key (api_token for incidents). With --config ENV, TAP_RESTGENERIC_SECRETS_<NAME> sets "
            "secrets.<name> (lower-cased)."
        ),
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        description="Initial bookmark for incremental resources that have no initial_value.",
    ),
    _setting(
        "request_timeout",
        th.NumberType(exclusive_minimum=0),
        DEFAULT_REQUEST_TIMEOUT,
        "Seconds a whole response may take (connect, headers and body) before the request is retried as a timeout.",
    ),
    _setting(
        "max_response_mb",
        th.NumberType(exclusive_minimum=0),
        DEFAULT_MAX_RESPONSE_MB,
        "Largest response body, in MiB once decompressed, that the tap reads; a larger one stops the stream with an error.",
    ),
    _setting(
        "max_concurrency",
        th.IntegerType(minimum=1),
        DEFAULT_MAX_CONCURRENCY,
        "Requests in flight at once across all streams (pages requested ahead, children of upcoming "
        "parents, streams at once); 1 = one request at a time. Records and STATE still come in order.",
    ),
    _setting(
        "stream_concurrency",
        th.IntegerType(minimum=1),
        DEFAULT_STREAM_CONCURRENCY,
        "Streams whose pages are requested while an earlier stream is being written (1 = one stream "
        "after another); the output is the same as a sequential sync's.",
    ),
    _setting(
        "max_buffer_mb",
        th.NumberType(exclusive_minimum=0),
        DEFAULT_MAX_BUFFER_MB,
        "MiB of response bodies fetched ahead (pages of later streams, children of later parents) that may wait "
        "in memory before fetching ahead pauses; the stream or parent being written is never held back by it.",
    ),
    _setting(
        "max_pages",
        th.IntegerType(minimum=1),
        DEFAULT_MAX_PAGES,
        "Pages one stream may request in a sync; a stream that still has a next page then stops "
        "with an error (a guard against an API that pages forever).",
    ),
    _choice(
        "total_mismatch",
        ["warn", "error"],
        "When the API states a total (total_path) and a stream reads another number of records or pages: "
        "warn (one line naming stream, total and count) or error (the stream stops).",
    ),
    _choice(
        "schema_contract",
        list(MODES),
        "What happens to a record that leaves its stream's schema (a resource's schema_contract wins): "
        "evolve widens or adds the field and emits a new SCHEMA, freeze stops the stream, discard_value "
        "drops the value, discard_row drops the record.",
    ),
    _choice(
        "on_missing_key",
        ["error", "drop"],
        "For a record of a stream with a primary_key whose key is null or absent (or that discard_value would take): "
        "error stops the stream naming the record's page and position; drop skips it, counted in the closing line.",
    ),
    _setting(
        "max_parent_bookmarks",
        th.IntegerType(minimum=1),
        DEFAULT_MAX_PARENT_BOOKMARKS,
        "Parents an incremental child resource keeps a bookmark for; the children of further parents "
        "are read from the start value each sync (sent again, never skipped).",
    ),
    _setting(
        "max_partition_bookmarks",
        th.IntegerType(minimum=1),
        DEFAULT_MAX_PARTITION_BOOKMARKS,
        "Partitions (a resource's `partitions` lists) a windowed resource keeps a bookmark for; further "
        "partitions are read from the configured start each sync (sent again, never skipped).",
    ),
    th.Property(
        "max_requests_per_second",
        th.NumberType(exclusive_minimum=0),
        description="Upper bound on request starts per second across all streams and threads (default: no bound).",
    ),
    th.Property(
        "record_dir",
        th.StringType,
        description="Save every response of the run in this directory, secrets redacted (the --record DIR flag).",
    ),
    th.Property(
        "replay_dir",
        th.StringType,
        description=(
            "Answer every request from a recording made with record_dir, offline and without secrets (the --replay DIR flag)."
        ),
    ),
    METRICS_LOG_LEVEL,  # (beside what it decides, in streams.progress)
    th.Property(
        "token_store",
        th.StringType,
        description=(
            "File that keeps rotating OAuth2 refresh tokens between runs (auth type oauth2_refresh_token): a new "
            "refresh token is written there (0600, replaced atomically) before it is used, and the next run starts "
            "from it. Default: tokens.json in the user's state directory (~/.local/state/tap-restgeneric on Linux). "
            "Not kept in STATE, which is not a secret store."
        ),
    ),
    th.Property(
        "user_agent",
        th.StringType,
        description="User-Agent header sent with every request (default tap-restgeneric/<version>).",
    ),
).to_dict()
