"""One SDK REST stream class per resource: request -> paginator -> selector -> records."""

from __future__ import annotations

import collections
import concurrent.futures
import datetime
import math
import threading
import time
import typing as t

import msgspec
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers._typing import conform_record_data_types
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_restgeneric.auth import connection_problem
from tap_restgeneric.errors import StreamError
from tap_restgeneric.http.retry import RateLimiter, retry_delay
from tap_restgeneric.http.transport import Origin, Transport, display_url, mount_adapter, new_session
from tap_restgeneric.paginators import PAGINATORS, Page, PaginationLoop
from tap_restgeneric.schema_inference import infer_schema
from tap_restgeneric.singer_output import BufferedSingerWriter, ConformanceCheck
from tap_restgeneric.selectors import RecordSelector, SelectorMismatch
from tap_restgeneric.templates import Template, has_templates, render_tree, template_config, uses_secrets

if t.TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_restgeneric.dialect import ResourceConfig, Source

#: Discovery samples up to this many pages of a resource that has no schema.
INFERENCE_MAX_PAGES = 5
INFERENCE_MAX_RECORDS = 1000
#: Responses faster than this (seconds) are not worth requesting ahead; see _pages_ahead.
AHEAD_MIN_LATENCY = 0.003
USER_AGENT = "tap-restgeneric/0.1"
#: Default of the max_response_mb setting.
DEFAULT_MAX_RESPONSE_MB = 128


class ResourceStream(RESTStream):
    """A REST stream configured by one resource of the source config.

    Subclassed once per resource by :func:`stream_class_for`; the class attributes
    ``source`` and ``resource`` carry the validated config.
    """

    source: t.ClassVar[Source]
    resource: t.ClassVar[ResourceConfig]
    preset_schema: t.ClassVar[dict | None] = None

    def __init__(self, tap: Tap, authenticator: t.Callable) -> None:
        resource = self.resource
        endpoint = resource["endpoint"]
        self._endpoint = endpoint
        self._auth = authenticator
        self._selector = RecordSelector(endpoint.get("data_selector"))
        self._decode = msgspec.json.Decoder().decode
        self._error_handler = endpoint["error_handler"]
        self._retry_statuses = frozenset(self._error_handler["retry_on_status_codes"])
        self._incremental = endpoint.get("incremental")
        self._dynamic_request = any(has_templates(endpoint.get(k)) for k in ("params", "json", "headers", "path"))
        schema = resource.get("schema") or self.preset_schema
        super().__init__(tap=tap, name=resource["name"], schema=schema, http_method=endpoint["method"])
        self.path = endpoint["path"].source if isinstance(endpoint["path"], Template) else endpoint["path"]
        self.primary_keys = resource["primary_key"] if resource["write_disposition"] == "merge" else []
        self._transport = Transport(
            session=self.requests_session,
            origin=Origin.of(self.url_base),
            label=f"stream '{self.name}'",
            timeout=self.timeout,
            max_bytes=int(float(self.config.get("max_response_mb") or DEFAULT_MAX_RESPONSE_MB) * 1024 * 1024),
            logger=self.logger,
            authenticate=authenticator,
            secret_headers=self.source.secret_headers | {k for k, v in (endpoint.get("headers") or {}).items() if uses_secrets(v)},
            secret_params={k for k, v in (endpoint.get("params") or {}).items() if uses_secrets(v)},
            secret_body=uses_secrets(endpoint.get("json")),
        )
        if self._incremental:
            self.replication_key = self._incremental["cursor_path"]
        self._start: t.Any = None  # the incremental start value of the sync under way
        self._abandoned = threading.local()
        self._fast_output: bool | None = None
        self._record_suffix = b"}\n"

    @property
    def requests_session(self) -> requests.Session:
        """A session that never reads the environment per request (``Transport`` reads
        proxies and CA bundles once per origin: requests scans os.environ three times per
        request, 0.6 s per 1000 pages in a profile) and whose responses have deadlines."""
        session = self.__dict__.get("_transport_session")
        if session is None:  # (the SDK's own _requests_session is a plain Session made in __init__)
            session = self.__dict__["_transport_session"] = new_session()
        return session

    def build_prepared_request(self, *args: t.Any, **kwargs: t.Any) -> requests.PreparedRequest:
        """As the SDK's, without attaching the authenticator: ``Transport`` adds
        credentials per hop, and only for the origin of ``base_url``."""
        request = requests.Request(*args, **kwargs)
        request.headers.setdefault("User-Agent", self.user_agent)
        return self.requests_session.prepare_request(request)

    # ------------------------------------------------------------ schema

    @property
    def schema(self) -> dict:
        if self._schema is None:
            self._schema = self._input_schema or self._infer_schema()
        return self._schema

    def _infer_schema(self) -> dict:
        """Sample the API (several pages when it has them) and infer a schema."""
        records: list[dict] = []
        for page_number, page in enumerate(self._pages(context=None, ahead=False)):
            records.extend(page.records)
            if page_number + 1 >= INFERENCE_MAX_PAGES or len(records) >= INFERENCE_MAX_RECORDS:
                break
        schema = infer_schema(
            records,
            required=list(self.resource["primary_key"]),
            description=f"Stream {self.resource['name']}: {self.http_method} {self.path} (inferred from {len(records)} sampled records).",
        )
        if self._incremental:  # the replication key belongs in the schema even if no sample had it
            schema["properties"].setdefault(self._incremental["cursor_path"], {"type": ["string", "null"]})
        return schema

    # ------------------------------------------------------------ request

    @property
    def rate_limiter(self) -> RateLimiter:
        return self._tap.rate_limiter  # type: ignore[attr-defined]

    @property
    def url_base(self) -> str:
        return self.source.base_url

    @property
    def authenticator(self) -> t.Callable:
        return self._auth

    @property
    def timeout(self) -> float:
        return float(self.config.get("request_timeout") or 60)

    @property
    def user_agent(self) -> str:
        return self.config.get("user_agent") or USER_AGENT

    def _template_context(self) -> dict:
        return {
            "secrets": dict(self.config.get("secrets") or {}),
            "config": template_config(self.config),
            "incremental": {"start_value": self._start, "end_value": (self._incremental or {}).get("end_value")},
        }

    def get_url(self, context: t.Any) -> str:
        path = self._endpoint["path"]
        if isinstance(path, Template):
            path = path(self._template_context())
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.url_base}/{path.lstrip('/')}" if path else self.url_base

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        endpoint = self._endpoint
        params, headers, body = endpoint.get("params") or {}, endpoint.get("headers") or {}, endpoint.get("json")
        if self._dynamic_request:
            ctx = self._template_context()
            params, headers, body = render_tree(params, ctx), render_tree(headers, ctx), render_tree(body, ctx)
        params = {k: v for k, v in params.items() if v is not None}
        if self._incremental:
            for key, value in (("start_param", self._start), ("end_param", self._incremental.get("end_value"))):
                if self._incremental.get(key) and value is not None:
                    params[self._incremental[key]] = value
        request = HTTPRequest(
            url=self.get_url(page.stream_context),
            method=self.http_method,
            params=params,
            headers={**self.source.headers, **{k: str(v) for k, v in headers.items()}},
            data=body,
        )
        self._paginator.apply(request, page.next_page_token)
        return request

    def get_new_paginator(self) -> t.Any:
        options = dict(self._endpoint["paginator"])
        cls = PAGINATORS[options.pop("type")]
        if cls.type_name == "cursor":
            options["context"] = {"secrets": dict(self.config.get("secrets") or {}), "config": template_config(self.config)}
        return cls(**options)

    # ------------------------------------------------------------ responses and retries

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        where = f"stream '{self.name}': HTTP {status} {response.reason or ''}".rstrip() + f" from {display_url(response.url)}"
        if status in self._retry_statuses:
            raise RetriableAPIError(where, response)
        if status in (401, 403):
            raise FatalAPIError(f"{where}: the API refused the credentials (check `secrets` and client.auth)")
        snippet = response.text[:200].replace("\n", " ") if response.content else ""
        raise FatalAPIError(f"{where}: {snippet}" if snippet else where)

    def backoff_max_tries(self) -> int:
        return int(self._error_handler["max_retries"]) + 1

    def backoff_jitter(self, value: float) -> float:
        return value

    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:
        def waits() -> t.Generator[float, t.Any, None]:
            exception = yield  # type: ignore[misc]
            attempt = 0
            while True:
                exception = yield self.retry_delay(exception, attempt)
                attempt += 1

        return waits()

    def retry_delay(self, exception: Exception, attempt: int) -> float:
        """See :func:`tap_restgeneric.http.retry.retry_delay`."""
        return retry_delay(self._error_handler, getattr(exception, "response", None), attempt, self.rate_limiter)

    def backoff_handler(self, details: t.Any) -> None:
        exception = details.get("exception")
        reason = str(exception) if isinstance(exception, RetriableAPIError) else type(exception).__name__
        self.logger.warning("Retrying in %.2f s (attempt %d): %s", details.get("wait") or 0, details.get("tries"), reason)

    # ------------------------------------------------------------ output

    def _fast_output_applies(self) -> bool:
        """The fast RECORD path is taken only where it provably writes what the SDK would:
        no stream map or flattening, no deselected property."""
        maps = self.stream_maps
        return (
            isinstance(self._tap.message_writer, BufferedSingerWriter)
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == self.name
            and not (maps[0].flattening_options and maps[0].flattening_enabled)
            and all(self.mask.values())
        )

    def _write_record_message(self, record: dict) -> None:
        if self._fast_output is None:
            self._fast_output = self._fast_output_applies()
            if self._fast_output:
                schema = self.effective_schema
                self._conforms = ConformanceCheck(schema)
                self._record_prefix = b'{"type":"RECORD","stream":' + msgspec.json.encode(self.name) + b',"record":'
                self._conform_level = self.TYPE_CONFORMANCE_LEVEL
        if not self._fast_output:
            super()._write_record_message(record)
            return
        if self._conform_level != TypeConformanceLevel.NONE and not self._conforms(record):
            record = conform_record_data_types(
                stream_name=self.name, record=record, schema=self.effective_schema, level=self._conform_level, logger=self.logger
            )
        BufferedSingerWriter.write_record(self._record_prefix, record, self._record_suffix)
        self.state_manager.is_flushed = False

    def _stamp_page(self) -> None:
        """``time_extracted`` (and ``version``) of the RECORDs from the page just received."""
        version = f',"version":{self._stream_version}' if self._stream_version is not None else ""
        extracted = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self._record_suffix = f'{version},"time_extracted":"{extracted}"}}\n'.encode()

    # ------------------------------------------------------------ records

    def _starting_value(self) -> t.Any:
        """Bookmark from state, else ``initial_value``, else the ``start_date`` setting."""
        if not self._incremental:
            return None
        value = self.get_starting_replication_key_value(self.context)
        if value is None:
            value = self._incremental.get("initial_value")
        if value is None:
            value = self.config.get("start_date")
        return value

    def _pages(self, context: t.Any, *, ahead: bool = True) -> t.Iterator[Page]:
        """Request page after page until the paginator's stop rule says so.

        When the next request does not depend on the previous response (page_number,
        offset) up to ``max_concurrency`` pages are requested ahead; they are still
        read, checked against the stop rule and yielded strictly in page order.
        """
        self._start = self._starting_value()
        self._paginator = paginator = self.get_new_paginator()
        decorated_request = self.request_decorator(self._request)
        concurrency = int(self.config.get("max_concurrency") or 1) if ahead else 1
        with self.get_http_request_counter() as request_counter:
            request_counter.with_context(context)
            first = True
            while not paginator.finished:
                if not first and paginator.predictable and concurrency > 1:
                    yield from self._pages_ahead(context, paginator, decorated_request, request_counter, concurrency)
                    return
                first = False
                prepared = self._prepare_request(context=context, page=paginator)
                response = self._send(decorated_request, prepared, context)
                request_counter.increment()
                yield self._read_page(paginator, response)
                self._advance(paginator, response)

    def _pages_ahead(self, context, paginator, decorated_request, request_counter, concurrency: int) -> t.Iterator[Page]:
        """Pages past the end may be requested when no total tells where it is (at most
        ``concurrency`` of them); they are never read, so their errors do not count.

        How many pages are requested ahead adapts (Little's law): the time a response
        takes divided by the time the records of a page take to process, up to
        ``concurrency``. A response faster than ``AHEAD_MIN_LATENCY`` is not waiting on
        the network but on the server's CPU: more requests would only queue there, and
        threads would contend for the interpreter here, so requests stay inline.
        """
        pool = self._thread_pool(concurrency)
        in_flight: collections.deque = collections.deque()
        abandoned = threading.Event()
        next_token = paginator.current_value  # the first token not requested yet
        last_token = paginator.last_token()
        latency = paginator.page.response.elapsed.total_seconds() if paginator.page else 0.0
        work = 1e-3

        def more_pages() -> bool:
            return last_token is None or next_token <= last_token

        try:
            while not paginator.finished:
                if in_flight:
                    token, future = in_flight.popleft()
                    assert token == paginator.current_value, (token, paginator.current_value)
                    response = future.result()
                else:
                    prepared = self._prepare_request(context=context, page=_Token(next_token))
                    next_token = paginator.token_after(next_token)
                    response = self._send(decorated_request, prepared, context)
                request_counter.increment()
                ahead = 0 if latency < AHEAD_MIN_LATENCY else min(concurrency, math.ceil(latency / max(work, 1e-4)))
                while len(in_flight) < ahead and more_pages():
                    prepared = self._prepare_request(context=context, page=_Token(next_token))
                    in_flight.append((next_token, pool.submit(self._send_ahead, abandoned, decorated_request, prepared, context)))
                    next_token = paginator.token_after(next_token)
                page = self._read_page(paginator, response)
                started = time.perf_counter()
                yield page
                work = 0.7 * work + 0.3 * (time.perf_counter() - started)
                latency = 0.7 * latency + 0.3 * response.elapsed.total_seconds()
                self._advance(paginator, response)
        finally:
            abandoned.set()  # requests still running stop retrying
            pool.shutdown(wait=False, cancel_futures=True)

    def _thread_pool(self, concurrency: int) -> concurrent.futures.ThreadPoolExecutor:
        if not getattr(self, "_pool_mounted", False):
            mount_adapter(self.requests_session, concurrency)
            self._pool_mounted = True
        return concurrent.futures.ThreadPoolExecutor(concurrency, thread_name_prefix=f"{self.name}-page")

    def _send_ahead(self, abandoned: threading.Event, decorated_request: t.Callable, prepared: requests.PreparedRequest, context: t.Any) -> requests.Response:
        self._abandoned.event = abandoned
        return self._send(decorated_request, prepared, context)

    def _send(self, decorated_request: t.Callable, prepared: requests.PreparedRequest, context: t.Any) -> requests.Response:
        """One request with the retries of the error handler; failures become StreamErrors."""
        try:
            return decorated_request(prepared, context)
        except RetriableAPIError as exc:
            raise StreamError(f"{exc} (gave up after {self.backoff_max_tries()} attempts)") from exc
        except FatalAPIError as exc:
            raise StreamError(str(exc)) from exc
        except requests.exceptions.RequestException as exc:
            raise StreamError(
                f"stream '{self.name}': request to {display_url(prepared.url or '')} failed after "
                f"{self.backoff_max_tries()} attempts: {connection_problem(exc)}"
            ) from exc

    def _request(self, prepared_request: requests.PreparedRequest, context: t.Any) -> requests.Response:
        abandoned = getattr(self._abandoned, "event", None)
        if abandoned is not None and abandoned.is_set():
            raise _Abandoned  # not retried: nobody will read this page
        self.rate_limiter.wait()
        response = self._transport.send(prepared_request)
        # The SDK's request-duration metric (Meltano users read it); private, but the
        # only way to emit the metric exactly as the SDK's own _request does.
        self._write_request_duration_log(endpoint=self.path, response=response, context=context, extra_tags=None)
        self.validate_response(response)
        return response

    def _read_page(self, paginator: t.Any, response: requests.Response) -> Page:
        page = Page(response, self._parse_body(response), [])
        page.records = self._select(page)
        paginator.page = page
        return page

    def _advance(self, paginator: t.Any, response: requests.Response) -> None:
        """After a page's records are out: the paginator's stop rule, or its loop guard."""
        try:
            paginator.advance(response)
        except PaginationLoop as exc:
            raise StreamError(
                f"stream '{self.name}': paginator {self._endpoint['paginator']['type']!r} would request the "
                f"same page twice ({exc}); stopping instead of looping"
            ) from None

    def _parse_body(self, response: requests.Response) -> t.Any:
        content = response.content
        if not content.strip():
            return None
        try:
            return self._decode(content)
        except msgspec.DecodeError:
            kind = response.headers.get("Content-Type", "no Content-Type")
            raise StreamError(
                f"stream '{self.name}': response is not JSON ({kind}, HTTP {response.status_code}) from {display_url(response.url)}"
            ) from None

    def _select(self, page: Page) -> list:
        if page.body is None:
            return []
        try:
            records = self._selector.select_records(page.body)
        except SelectorMismatch as exc:
            raise StreamError(
                f"stream '{self.name}': {exc} in the response (HTTP {page.response.status_code}) from {display_url(page.response.url)}"
            ) from None
        if records and not isinstance(records[0], dict):
            raise StreamError(
                f"stream '{self.name}': data_selector {self._selector.spec!r} selected {type(records[0]).__name__} values, "
                f"not objects (HTTP {page.response.status_code}) from {display_url(page.response.url)}"
            )
        return records

    def _process_record(self, record: dict, child_context: t.Any = None, partition_context: t.Any = None) -> None:
        # Adds partition keys and syncs child streams: neither exists for a stream without them.
        if partition_context or self.child_streams:
            super()._process_record(record, child_context, partition_context)

    def get_records(self, context: t.Any) -> t.Iterable[dict]:
        return self.request_records(context)

    def request_records(self, context: t.Any) -> t.Iterable[dict]:
        cursor = self._incremental["cursor_path"] if self._incremental else None
        for page in self._pages(context):
            self._stamp_page()
            start = self._start
            if cursor is None or start is None:
                yield from page.records
            else:
                # Like dlt's incremental: records older than the start value are not emitted,
                # whether or not the API honoured start_param.
                for record in page.records:
                    value = record.get(cursor)
                    if value is None or type(value) is not type(start) or value >= start:
                        yield record


class _Abandoned(Exception):
    """A page requested ahead is no longer wanted."""


class _Token:
    """What ``_prepare_request`` reads off a paginator: a page token requested ahead."""

    __slots__ = ("current_value",)

    def __init__(self, token: t.Any) -> None:
        self.current_value = token


def stream_class_for(source: Source, resource: ResourceConfig, preset_schema: dict | None) -> type[ResourceStream]:
    """Build the stream class of one resource (one class per resource)."""
    class_name = "".join(part.capitalize() for part in resource["name"].split("_")) + "Stream"
    return type(class_name, (ResourceStream,), {"source": source, "resource": resource, "preset_schema": preset_schema, "__module__": __name__})
