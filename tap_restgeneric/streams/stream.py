"""One SDK REST stream class per resource: the SDK's hooks, wired to the parts that do the work.

``get_http_request`` builds a page's request from its ``PageToken`` -> ``Transport`` sends it
(credentials per origin, redirects, deadline) under the SDK's backoff hooks -> ``PageFetcher``
walks the paginator (requesting ahead when it can) -> ``ResponseReader`` parses and selects ->
``request_records`` drops records older than the incremental start -> RECORD messages.
"""

from __future__ import annotations

import datetime
import typing as t

from singer_sdk.streams.rest import HTTPRequest, PageContext
from typing_extensions import override

from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.paging.page_loop import PageFetcher
from tap_restgeneric.paging.paginators import PAGINATORS, Paginator
from tap_restgeneric.paging.reader import ResponseReader
from tap_restgeneric.paging.request_builder import PageToken, RequestBuilder
from tap_restgeneric.paging.response_actions import ResponseAction
from tap_restgeneric.scheduling.fanout import FanOut
from tap_restgeneric.schema_drift import Contract
from tap_restgeneric.streams.incremental import CursorWatch, Window, sorted_by_params
from tap_restgeneric.streams.keys import RequiredKey
from tap_restgeneric.streams.processing import Steps
from tap_restgeneric.streams.progress import Progress
from tap_restgeneric.streams.starting import StartingStream
from tap_restgeneric.transport.wire import Origin, Transport
from tap_restgeneric.values import start_value_problems

if t.TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Iterable, Iterator

    import requests
    from singer_sdk import Tap

    from tap_restgeneric.paging.paginators import Page
    from tap_restgeneric.scheduling.fanout import PageBudget
    from tap_restgeneric.settings import Settings
    from tap_restgeneric.source.model import ResourceConfig, Source
    from tap_restgeneric.transport.retry import RateLimiter


class ResourceStream(StartingStream):
    """A REST stream configured by one resource of the source config.

    Subclassed once per resource by :func:`stream_class_for`; the class attributes
    ``source`` and ``resource`` carry the validated config.
    """

    source: t.ClassVar[Source]
    resource: t.ClassVar[ResourceConfig]
    preset_schema: t.ClassVar[dict | None] = None
    #: Records between interim STATE messages (the SDK's default is 10,000): a sorted stream that is
    #: killed resumes from its last STATE, so at most this many records are sent again.
    STATE_MSG_FREQUENCY = 1000

    def __init__(
        self,
        tap: Tap,
        authenticator: Callable,
        rate_limiter: RateLimiter,
        parent: ResourceStream | None,
        budget: PageBudget,
        settings: Settings,
    ) -> None:
        resource = self.resource
        self.settings = settings
        self.parent = parent
        endpoint = resource["endpoint"]
        self._endpoint = endpoint
        self._auth = authenticator
        self.rate_limiter = rate_limiter
        self.error_handler = endpoint["error_handler"]
        self.response_actions = tuple(ResponseAction.parse(action) for action in endpoint.get("response_actions") or ())
        self.incremental = endpoint.get("incremental")
        self.tape = getattr(tap, "tape", None)
        super().__init__(
            tap=tap, name=resource["name"], schema=resource.get("schema") or self.preset_schema, http_method=endpoint["method"]
        )
        self.partition_by_parent()
        self.path = endpoint.get("written_path") or str(endpoint["path"])
        # Singer's convention: the key describes the data, whatever the disposition; the target
        # decides append or upsert (its own load method). ``replace`` syncs full-table versions.
        self.primary_keys = resource["primary_key"]
        if self.incremental:
            self.replication_key = self.incremental["cursor_path"]
        self.contract = Contract.parse(resource.get("schema_contract") or self.settings.schema_contract, "schema_contract")
        self._reader = ResponseReader(self.name, endpoint.get("data_selector"), resource["primary_key"], self.logger)
        self._builder = RequestBuilder(
            endpoint, self.url_base, self.source.headers, self.source.secrets, settings.template_config
        )
        self._transport = Transport(
            tape=self.tape,
            session=self.requests_session,
            origin=Origin.of(self.url_base),
            label=f"stream '{self.name}'",
            timeout=self.timeout,
            max_bytes=settings.max_response_bytes,
            logger=self.logger,
            authenticate=authenticator,
            secret_headers=self.source.secret_headers | self._builder.secret_headers,
            secret_params=self._builder.secret_params,
            secret_body=self._builder.secret_body,
        )
        self._plain_output: bool | None = None
        concurrency = settings.max_concurrency
        key = self.bookmark_key if self.partitioned_by_parent else None  # parents sharing a bookmark: one job
        # One request at a time: no fan-out, and no child contexts built ahead to be thrown away.
        self.fanout = FanOut(self.name, concurrency, self.pages_ahead, key, budget) if self.link and concurrency > 1 else None
        self._ahead_bytes = budget.max_bytes  # of pages requested ahead of the one written (see PageFetcher)
        self.progress = Progress(self.name, self.logger)
        drop = settings.on_missing_key == "drop"
        self.required_key = RequiredKey(resource["primary_key"], drop=drop, progress=self.progress, warn_once=self.warn_once)
        if self.incremental:
            self.cursor_watch = CursorWatch(
                self.name, self.incremental["cursor_path"], self.logger, backfill=self.incremental.get("end_value") is not None
            )
            declared = resource.get("schema") or self.preset_schema
            problems = start_value_problems(self.name, self.incremental, declared, settings.start_date)
            if problems:
                raise SourceConfigError(problems)
        self._extracted_at: datetime.datetime | None = None
        self.steps = Steps(resource["processing_steps"], settings.template_config)

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """dlt's ``replace``: each sync is a new version of the whole table (ACTIVATE_VERSION)."""
        return self.resource["write_disposition"] == "replace" or super().emit_activate_version_messages

    @property
    @override
    def is_sorted(self) -> bool:
        """dlt's ``row_order: asc``, or params that ask the API to sort by the cursor (``sort: updated_at``):
        records arrive in cursor order, so the bookmark moves with each record and a killed sync resumes
        from its last STATE (the SDK checks the order and stops the stream if it is not kept)."""
        incremental = self.incremental
        if not incremental:
            return False
        if incremental.get("row_order") is not None:
            return incremental["row_order"] == "asc"
        return sorted_by_params(self._endpoint.get("params"), incremental["cursor_path"])

    # ------------------------------------------------------------ request

    @property
    @override
    def url_base(self) -> str:
        return self.source.base_url

    @property
    @override
    def authenticator(self) -> t.Any:
        return self._auth

    @property
    @override
    def timeout(self) -> float:  # type: ignore[override]  # a fraction of a second is a valid timeout
        return float(self.settings.request_timeout)

    @property
    @override
    def user_agent(self) -> str:
        return self.settings.user_agent

    @override
    def get_url(self, context: t.Any) -> str:
        return self._builder.url(None, self.resources_of(context))

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        return self._builder.build(t.cast("PageToken", page.next_page_token))

    def _prepare(self, context: t.Any, start: t.Any, paginator: Paginator, value: t.Any) -> requests.PreparedRequest:
        request = self.get_http_request(
            page=PageContext(
                stream_context=context, next_page_token=PageToken(value, start, paginator, self.resources_of(context))
            )
        )
        self.check_headers(request.headers, context)
        return self.build_prepared_request(
            method=request.method,
            url=request.url,
            params=request.encode_params(),
            headers=request.headers,
            json=request.data,
            data=getattr(request, "form", None),
        )

    def requests_for(self, context: t.Any) -> tuple[Paginator, Callable[[t.Any], requests.PreparedRequest]]:
        """A new paginator, and how to prepare the request of each of its tokens for ``context`` (the doctor's)."""
        start = self.starting_value(context)
        paginator = self._new_paginator()
        return paginator, lambda value: self._prepare(context, start, paginator, value)

    def _new_paginator(self) -> Paginator:
        options = dict(self._endpoint["paginator"])
        cls = PAGINATORS[options.pop("type")]
        if cls.type_name == "cursor":
            options["context"] = {"secrets": dict(self.source.secrets), "config": self.settings.template_config}
        if cls.type_name == "auto":
            options["log"] = self.log_once
            options["method"] = self._endpoint["method"]
        return cls(**options)

    # ------------------------------------------------------------ responses and retries

    # ------------------------------------------------------------ records

    @override
    def _fetcher(
        self,
        context: t.Any,
        start: t.Any,
        *,
        concurrency: int,
        on_request: Callable[[], None] = lambda: None,
        abandoned: threading.Event | None = None,
    ) -> PageFetcher:
        """The pages of one context; ``abandoned``, when given, stops the retries of every request."""
        paginator = self._new_paginator()
        return PageFetcher(
            paginator=paginator,
            prepare=lambda value: self._prepare(context, start, paginator, value),
            fetch=lambda prepared, cancelled: self._fetch(prepared, abandoned or cancelled, context),
            stream_name=self.name,
            paginator_type=self._endpoint["paginator"]["type"],
            concurrency=concurrency,
            on_request=on_request,
            record_key=self.required_key.value(),
            max_pages=self.settings.max_pages,
            max_ahead_bytes=self._ahead_bytes,
            strict_totals=self.settings.total_mismatch == "error",
            logger=self.logger,
        )

    @override
    def processed(self, records: list[dict]) -> list[dict]:
        """dlt's processing_steps (declared: filter, map, exclude), on the records selected from a
        page, before the SDK sees them (so a parent's filter also decides which records have children)."""
        if not self.steps:
            return records
        return [r for r in map(self.steps.apply, records) if r is not None]

    @override
    def get_records(self, context: t.Any) -> Iterable[dict]:
        return self.request_records(context)

    def pages_ahead(self, context: t.Any, start: t.Any, abandoned: threading.Event) -> Iterator[Page]:
        """Pages fetched ahead of the SDK reaching them: one parent's (one request at a time within a
        parent), or a whole top-level stream's (with its own look-ahead)."""
        concurrency = 1 if self.link else self.settings.max_concurrency
        return self._fetcher(None if not self.link else context, start, concurrency=concurrency, abandoned=abandoned).pages()

    @override
    def request_records(self, context: t.Any) -> Iterator[dict]:
        fetched = self.fanout.take(context) if self.fanout and context else self.fetched_ahead_of_turn(context)
        start = fetched[0] if fetched else self.starting_value(context)
        window = Window.of(self.incremental, start, self.name, self.cursor_type, self.warn_once) if self.incremental else None
        with self.get_http_request_counter() as request_counter:
            request_counter.with_context(context)
            if fetched:
                pages: Iterable[Page] = _counted(fetched[1], request_counter.increment)
            else:
                concurrency = self.settings.max_concurrency
                pages = self._fetcher(context, start, concurrency=concurrency, on_request=request_counter.increment).pages()
            progress = self.progress
            try:
                for page_number, page in enumerate(progress.track(pages), 1):
                    # RECORDs of one page are stamped with one time_extracted (see _write_record_message).
                    self._extracted_at = datetime.datetime.now(datetime.timezone.utc)
                    records = self.with_parent_fields(page.records, context)
                    if window is not None:
                        records = window.keep(records)
                    records = self.processed(records)
                    records = self.required_key.kept(records, page_number, self._in_context(f"stream '{self.name}'", context))
                    if self.cursor_watch is not None:
                        self.cursor_watch.page(records)
                    self.prefetch_children(records, context)
                    progress.records += len(records)
                    yield from records
            except BaseException:
                self.stop_streams_ahead()  # the sync is failing: nobody will read the later streams' pages
                raise
            finally:
                self.stop_prefetching_children()
            if self.link is None:
                self.logger.info(self.closing_line(progress))


def _counted(pages: Iterator[Page], count: Callable[[], None]) -> Iterator[Page]:
    for page in pages:
        count()
        yield page


def stream_class_for(
    source: Source, resource: ResourceConfig, preset_schema: dict | None, parent: type[ResourceStream] | None = None
) -> type[ResourceStream]:
    """Build the stream class of one resource (one class per resource; a child's names its parent's)."""
    class_name = "".join(part.capitalize() for part in resource["name"].split("_")) + "Stream"
    attributes = {
        "source": source,
        "resource": resource,
        "preset_schema": preset_schema,
        "parent_stream_type": parent,
        "link": resource["parent"],
        "partitioned_by_parent": bool(resource["parent"] and resource["endpoint"].get("incremental")),
        "selected_by_default": resource["selected"],
        "__module__": __name__,
    }
    return type(class_name, (ResourceStream,), attributes)
