"""tap-restgeneric: settings and stream discovery."""

from __future__ import annotations

import copy
import functools
import os
import signal
import sys
import typing as t
import weakref

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers._classproperty import classproperty
from typing_extensions import override

from tap_restgeneric.about import about_text
from tap_restgeneric.airbyte.loading import load_any_source
from tap_restgeneric.errors import Interrupted, SourceConfigError
from tap_restgeneric.output.redact import REDACTOR, install_log_redaction
from tap_restgeneric.output.writer import BufferedSingerWriter
from tap_restgeneric.scheduling.fanout import PageBudget
from tap_restgeneric.scheduling.scheduler import Scheduler
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
    Settings,
    check_settings,
    secret_values,
    secrets_from_environment,
)
from tap_restgeneric.source import PRESETS, Invocation, preset_schema
from tap_restgeneric.state import check_bookmarks, check_shape, without_progress_markers
from tap_restgeneric.streams.assembly import Runtime, StreamParts, build_parts
from tap_restgeneric.streams.progress import METRICS_LOG_LEVEL, metrics_level
from tap_restgeneric.streams.stream import ResourceStream, link_children
from tap_restgeneric.transport.auth import AuthRuntime, OriginScopedAuth, scoped_authenticators
from tap_restgeneric.transport.auth_types import SharedAuth
from tap_restgeneric.transport.rate_gate import RateGate
from tap_restgeneric.transport.recording import Tape
from tap_restgeneric.transport.retry import RetryPolicy
from tap_restgeneric.transport.throttle import RateLimiter

if t.TYPE_CHECKING:
    from types import FrameType

    from tap_restgeneric.source.model import Source


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


class TapRestGeneric(Tap):
    """Singer tap for any REST API described in dlt's rest_api_source dialect."""

    name = "tap-restgeneric"
    message_writer_class = BufferedSingerWriter
    #: The catalog depends on the settings (the source's resources): --discover checks them too.
    dynamic_catalog = True
    #: Whether a stream without a schema samples the API for one at discovery (the doctor's tap does not).
    samples_schemas: t.ClassVar[bool] = True

    config_jsonschema = SETTINGS

    @classproperty
    @override
    def _env_var_config(cls) -> dict[str, t.Any]:  # noqa: N805 - a class property, as the SDK's
        """``--config ENV``: the SDK's ``TAP_RESTGENERIC_<SETTING>`` variables, and one variable per
        secret (see ``settings.secrets_from_environment``). (A private SDK hook: the SDK reads it, and a
        ``.env`` file, for ``parse_env_config``.)"""
        return secrets_from_environment(super()._env_var_config, f"{cls._env_var_prefix}SECRETS_", os.environ)

    @classmethod
    @override
    def print_about(cls, output_format: str | None = None) -> None:
        """``--about``: in text, the default, each setting with its description (the SDK's text has none)."""
        if (output_format or "text") != "text":
            super().print_about(output_format)
            return
        sys.stdout.write(about_text(cls._get_about_info()) + "\n")

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # Private SDK hook: the first place that sees the settings, before the SDK can log them.
        # Register secrets before anything else can log the config.
        self._register_secrets(secret_values(self._config))
        install_log_redaction()
        # Numbers given as strings become numbers, and ranges and dates are checked, in the tap's
        # one-line format (the SDK's own validation would log a report and raise).
        checked, problems = check_settings(self._config, self.config_jsonschema)
        self._config.update(checked)
        level = Settings.of(checked).metrics_log_level
        self.metrics_logger.setLevel(metrics_level(level, self.name))  # (the SDK's: LOGLEVEL)
        if problems:
            if raise_errors:
                raise SourceConfigError(problems)
            return problems
        return super()._validate_config(raise_errors=raise_errors)

    @override
    def load_state(self, state: dict[str, t.Any]) -> None:
        check_shape(state)  # before any request (see tap_restgeneric.state); the SDK would fail on a wrong shape
        super().load_state(state)
        cursors = {name: stream.bookmark_cursor for name, stream in self.streams.items() if isinstance(stream, ResourceStream)}
        check_bookmarks(self.state, cursors)

    @functools.cached_property
    def settings(self) -> Settings:
        """The settings, typed, as every part of the tap reads them (built once, from the checked config)."""
        return Settings.of(self.config)

    @functools.cached_property
    def tape(self) -> Tape | None:
        """``--record`` / ``--replay``: every response saved, or answered from a recording (see transport.recording)."""
        return Tape.of(self.settings)

    @functools.cached_property
    def shared_auth(self) -> SharedAuth:
        """The run's authenticators, one per auth block, shared by every stream (one token refresh at a time); what
        they hold (the token store's claim on rotating credentials) is released with the tap, or the process."""
        shared = SharedAuth()
        weakref.finalize(self, shared.close)
        return shared

    @functools.cached_property
    def rate_limiter(self) -> RateLimiter:
        return RateLimiter(self.settings.max_requests_per_second, self.settings.max_concurrency)

    @functools.cached_property
    def scheduler(self) -> Scheduler:
        """The one scheduler of the run, handed to every stream: which pages are requested ahead of their
        turn (later streams, children of upcoming parents), under one byte budget."""
        settings = self.settings
        return Scheduler(
            stream_concurrency=settings.stream_concurrency,
            max_concurrency=settings.max_concurrency,
            budget=PageBudget(settings.max_buffer_bytes),
            upcoming=self._upcoming_streams,
        )

    def _upcoming_streams(self) -> list[str]:
        """The top-level streams this sync reads, in the order the SDK syncs them."""
        return [
            stream.name
            for stream in self.streams.values()
            if isinstance(stream, ResourceStream) and stream.link is None and (stream.selected or stream.has_selected_descendents)
        ]

    @override
    def discover_streams(self) -> list[Stream]:
        source = load_any_source(self.settings, Invocation.from_environment(os.environ))
        self._register_secrets(source.secret_values, source.basic_credentials)
        for note in source.notes:
            self.logger.info(note)
        loggers = (self.logger, self.metrics_logger)
        gate = RateGate.of(source.rate_limit, source.api_budget)
        runtime = Runtime(
            self.settings, *loggers, self.initialized_at, self.scheduler, self.rate_limiter, self.tape, self.samples_schemas, gate
        )
        authenticator_for = self._authenticators(source)
        client_authenticator = authenticator_for(source.auth)
        preset = self.settings.api
        by_name = {resource["name"]: resource for resource in source.resources}
        parts: dict[str, StreamParts] = {}

        def parts_of(name: str) -> StreamParts:  # a parent's parts are built before its children's
            if name not in parts:
                resource = by_name[name]
                endpoint_auth = resource["endpoint"].get("auth")  # dlt's endpoint-level auth replaces the client's
                parts[name] = build_parts(
                    runtime,
                    source,
                    resource,
                    authenticator=authenticator_for(endpoint_auth) if endpoint_auth else client_authenticator,
                    declared_schema=resource.get("schema") or (preset_schema(preset, name) if preset else None),
                    parent=parts_of(resource["parent"].parent) if resource["parent"] else None,
                )
            return parts[name]

        streams = [ResourceStream(self, parts_of(name)) for name in by_name]
        link_children(streams)
        for stream in streams:
            pages = stream.parts.pages.ahead
            if stream.parts.slices is not None:  # windows and partitions: its slices fan out when it syncs
                continue
            if stream.link is None:
                self.scheduler.add_stream(stream.name, pages, stream.starting_value)
            else:
                key = stream.bookmark_key if stream.partitioned_by_parent else None  # parents sharing a bookmark: one job
                self.scheduler.add_child(stream.name, pages, stream.starting_value, key)
        return list(streams)

    def _authenticators(self, source: Source) -> t.Callable[[t.Any], OriginScopedAuth]:
        """How an auth block of the source becomes its authenticator, scoped to the origin of ``base_url``."""
        runtime = AuthRuntime(
            timeout=float(self.settings.request_timeout),
            max_bytes=self.settings.max_response_bytes,
            policy=RetryPolicy.of(source.error_handler),
            rate_limiter=self.rate_limiter,
            logger=self.logger,
            redactor=REDACTOR,
            shared=self.shared_auth,
            tape=self.tape,
            token_store=self.settings.token_store,
        )

        return scoped_authenticators(source.base_url, runtime)

    @staticmethod
    def _register_secrets(values: t.Iterable[t.Any], basic: t.Iterable[tuple[str, str]] = ()) -> None:
        """The one place the config's secrets are registered for redaction: the ``secrets`` setting's as
        soon as the config is seen, the auth blocks' once the source is read (tokens obtained at run time
        are registered by the authenticator that obtains them, with the redactor it is given)."""
        REDACTOR.add(*values)
        for user, password in basic:
            REDACTOR.add_basic(user, password)

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """SIGINT/SIGTERM: ``Interrupted`` carries a STATE that covers the records produced; cli.py
        writes it after them and exits 130/143. The SDK's own handler (a private hook) writes the
        state with the progress markers of a stream under way, inside whatever write the signal
        interrupted, and exits 0.

        The STATE holds the bookmarks as they stand, without those markers: a stream whose
        records arrive sorted has its bookmark at the last record written; any other keeps the
        bookmark it started from (its records since then are sent again next time, never skipped).
        With batch_config no STATE is added: the one after the last BATCH covers what was announced."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second signal does not cut the STATE short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # With batch files, records read since the last BATCH are in a file not announced yet (and
        # one may be between its bookmark and its file): the last STATE written is the one that holds.
        state = None if self.settings.batch_config else without_progress_markers(copy.deepcopy(self.state))
        stop = Interrupted(signum, state)
        writer = self.message_writer
        if isinstance(writer, BufferedSingerWriter):
            writer.interrupt(stop)  # raised now, or once the line being written is whole
            return
        raise stop

    @property
    @override
    def catalog_json_text(self) -> str:
        return REDACTOR(super().catalog_json_text)
