"""The parts of one resource's stream, built from the source model and the settings (the tap calls this).

A stream is its SDK hooks (``streams.stream``) and these collaborators, each built here and passed in:
the ``Sender`` (a request to what its response reads as: retries, rate limit, credentials per
origin), the ``PageSource`` (the pages of a context: paginator, request building, reading), the
``RecordSource`` (a context's records: window, steps, key, cursor watch), the ``RecordEmitter``
(fit, drift, RECORD messages), the ``SchemaSource`` (declared, catalog, recorded or sampled), the
``Bookmarks`` (start value and bookmark) and the start and closing lines.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from tap_restgeneric.errors import SourceConfigError, Subject
from tap_restgeneric.paging.decoder_config import build_decoder
from tap_restgeneric.paging.reader import ResponseReader
from tap_restgeneric.paging.request_builder import RequestBuilder
from tap_restgeneric.paging.response_actions import ResponseAction
from tap_restgeneric.schema_drift import Contract
from tap_restgeneric.source.feature_checks import decoder_spec
from tap_restgeneric.streams.bookmarks import Bookmarks
from tap_restgeneric.streams.emitter import RecordEmitter
from tap_restgeneric.streams.incremental import CursorWatch, sorted_by_params
from tap_restgeneric.streams.keys import RequiredKey
from tap_restgeneric.streams.notes import Notes
from tap_restgeneric.streams.pages import PageSource
from tap_restgeneric.streams.processing import Steps
from tap_restgeneric.streams.progress import Progress
from tap_restgeneric.streams.records import RecordSource
from tap_restgeneric.streams.schema_source import SchemaSource
from tap_restgeneric.streams.slices import SliceReads
from tap_restgeneric.streams.start_lines import StartLines
from tap_restgeneric.streams.tree import FullTableVersion, ParentBookmarks, SentSchemas, StateThrottle
from tap_restgeneric.transport.deadlines import new_session
from tap_restgeneric.transport.origins import Origin
from tap_restgeneric.transport.retry import RetryPolicy
from tap_restgeneric.transport.sender import RequestMetric, Sender
from tap_restgeneric.transport.wire import Transport
from tap_restgeneric.values import start_value_problems

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterator

    from tap_restgeneric.paging.decoders import Decoder
    from tap_restgeneric.scheduling.scheduler import Scheduler
    from tap_restgeneric.settings import Settings
    from tap_restgeneric.source.model import EndpointConfig, ResourceConfig, Source
    from tap_restgeneric.transport.rate_gate import RateGate
    from tap_restgeneric.transport.recording import Tape
    from tap_restgeneric.transport.throttle import RateLimiter


@dataclasses.dataclass(frozen=True)
class StreamParts:
    """What one resource's stream is made of (see the module docstring)."""

    resource: ResourceConfig
    settings: Settings
    logger: logging.Logger
    scheduler: Scheduler
    sender: Sender
    pages: PageSource
    records: RecordSource
    emitter: RecordEmitter
    schema: SchemaSource
    bookmarks: Bookmarks | None
    start_lines: StartLines
    key: RequiredKey
    notes: Notes
    progress: Progress
    parent_bookmarks: ParentBookmarks
    state_throttle: StateThrottle
    sent_schemas: SentSchemas
    full_table: FullTableVersion
    #: dlt's ``row_order: asc``, or params asking the API to sort by the cursor: records in cursor order.
    is_sorted: bool
    #: Date windows and list partitions (None: the resource has neither, one range per context).
    slices: SliceReads | None = None


@dataclasses.dataclass(frozen=True)
class Runtime:
    """What every stream of a tap shares: its settings, loggers, scheduler, rate limiter and recording."""

    settings: Settings
    logger: logging.Logger
    metrics_logger: logging.Logger
    #: When the tap started (the SDK's ``initialized_at``, milliseconds since the epoch).
    initialized_at: int
    scheduler: Scheduler
    limiter: RateLimiter
    tape: Tape | None
    #: Whether a stream without a schema samples the API for one (the doctor's do not).
    samples_schemas: bool = True
    #: The run's rate budgets (response headers per origin, client.api_budget), shared by every stream.
    gate: RateGate | None = None


def build_parts(
    runtime: Runtime,
    source: Source,
    resource: ResourceConfig,
    *,
    authenticator: Callable,
    declared_schema: dict | None,
    parent: StreamParts | None = None,
) -> StreamParts:
    """The parts of ``resource``'s stream (``parent``: a child's parent's parts, built first)."""
    settings = runtime.settings
    template_config = source.template_config
    name = resource["name"]
    endpoint = resource["endpoint"]
    link = resource["parent"]
    incremental = endpoint.get("incremental")
    path = endpoint.get("written_path") or str(endpoint["path"])
    logger = runtime.logger.getChild(name)  # the SDK's stream logger (Stream.__init__ makes the same)
    notes = Notes(name, logger)
    progress = Progress(name, logger)
    key = RequiredKey(name, resource["primary_key"], drop=settings.on_missing_key == "drop", progress=progress, notes=notes)
    if (
        incremental
        and resource["windows"] is None
        and (problems := start_value_problems(name, incremental, declared_schema, settings.start_date))
    ):
        raise SourceConfigError(problems)
    builder = RequestBuilder(endpoint, source.base_url, source.headers, source.secrets, template_config)
    sender = Sender(
        stream=name,
        transport=Transport(
            tape=runtime.tape,
            session=(session := new_session(pool_maxsize=max(10, settings.max_concurrency))),
            origin=Origin.of(source.base_url),
            about=Subject(stream=name),
            timeout=float(settings.request_timeout),
            max_bytes=settings.max_response_bytes,
            logger=logger,
            authenticate=authenticator,
            secret_headers=source.secret_headers | builder.secret_headers,
            secret_params=builder.secret_params,
            secret_body=builder.secret_body,
        ),
        session=session,
        policy=(policy := RetryPolicy.of(endpoint["error_handler"])),
        limiter=runtime.limiter,
        user_agent=settings.user_agent,
        logger=logger,
        on_response=RequestMetric(runtime.metrics_logger, name, path),
        gate=runtime.gate,
    )
    reader = ResponseReader(
        name,
        endpoint.get("data_selector"),
        resource["primary_key"],
        logger,
        check=lambda response: policy.check(response, name),
        actions=[ResponseAction.parse(action) for action in endpoint.get("response_actions") or ()],
        decoder=_decoder(endpoint),
        max_bytes=settings.max_response_bytes,
        selection=endpoint.get("record_selection") or "dlt",
    )
    pages = PageSource(  # what a request is built from, how it is sent and read, and the page loop's bounds
        stream=name,
        endpoint=endpoint,
        link=link,
        builder=builder,
        template_context={"secrets": dict(source.secrets), "config": template_config},
        sender=sender,
        reader=reader,
        settings=settings,
        identity=key.identity(),
        notes=notes,
        logger=logger,
    )
    cursor_watch = (
        CursorWatch(name, incremental["cursor_path"], logger, backfill=incremental.get("end_value") is not None)
        if incremental
        else None
    )
    emitter = RecordEmitter(
        stream=name,
        primary_keys=resource["primary_key"],
        contract=Contract.parse(resource.get("schema_contract") or settings.schema_contract, "schema_contract"),
        key=key,
        logger=logger,
        as_received=bool(resource.get("records_as_received")),
    )

    def sample(context: t.Any) -> Iterator[list[dict]]:
        """A context's first pages as their records will be written (discovery's, for a schema)."""
        piece = slices.first() if slices is not None else None  # a windowed or partitioned resource's first slice
        for page in pages.fetcher(context, None, concurrency=1, piece=piece).pages():
            yield records.as_written(page.records, context)

    schema = SchemaSource(
        resource=resource,
        declared=declared_schema,
        method=endpoint["method"],
        path=path,
        tape=runtime.tape,
        start_date=settings.start_date,
        sample=sample if runtime.samples_schemas else None,
        parent=parent.schema if parent is not None else None,
        describe_key=key.describe,
    )
    records = RecordSource(  # where a context's pages come from, then what each page's records go through
        stream=name,
        pages=pages,
        scheduler=runtime.scheduler,
        max_concurrency=settings.max_concurrency,
        link=link,
        incremental=incremental,
        cursor_type=lambda: schema.cursor_type,
        steps=Steps(resource["processing_steps"], template_config),
        key=key,
        cursor_watch=cursor_watch,
        progress=progress,
        emitter=emitter,
        notes=notes,
    )

    slices = (
        SliceReads(
            stream=name,
            windows=resource["windows"],
            partitions=resource["partitions"],
            settings=settings,
            pages=pages,
            records=records,
            scheduler=runtime.scheduler,
            notes=notes,
            is_sorted=_sorted(endpoint),
        )
        if resource["windows"] is not None or resource["partitions"]
        else None
    )
    started = datetime.datetime.fromtimestamp(runtime.initialized_at / 1000.0, tz=datetime.timezone.utc)
    return StreamParts(
        resource=resource,
        settings=settings,
        logger=logger,
        scheduler=runtime.scheduler,
        sender=sender,
        pages=pages,
        records=records,
        emitter=emitter,
        schema=schema,
        bookmarks=Bookmarks(
            stream=name,
            incremental=incremental,
            start_date=settings.start_date,
            cursor_type_of=lambda: schema.cursor_type,
            sync_started=started,
            cursor_watch=cursor_watch,
            key=key,
            notes=notes,
        )
        if incremental and cursor_watch
        else None,
        start_lines=StartLines(name, link, incremental, logger),
        key=key,
        notes=notes,
        progress=progress,
        parent_bookmarks=ParentBookmarks(name, notes),
        state_throttle=StateThrottle(),
        sent_schemas=SentSchemas(),
        full_table=FullTableVersion(),
        is_sorted=_sorted(endpoint),
        slices=slices,
    )


def _sorted(endpoint: EndpointConfig) -> bool:
    """dlt's ``row_order: asc``, or params that ask the API to sort by the cursor (``sort: updated_at``):
    records arrive in cursor order, so the bookmark moves with each record and a killed sync resumes
    from its last STATE (the SDK checks the order and stops the stream if it is not kept)."""
    incremental = endpoint.get("incremental")
    if not incremental:
        return False
    if incremental.get("row_order") is not None:
        return incremental["row_order"] == "asc"
    return sorted_by_params(endpoint.get("params"), incremental["cursor_path"])


def _decoder(endpoint: EndpointConfig) -> Decoder | None:
    """The endpoint's decoder, or None for plain JSON (the reader's own path)."""
    spec = decoder_spec(endpoint.get("decoder"))
    return None if spec is None or spec == {"type": "json"} else build_decoder(spec, "decoder")
