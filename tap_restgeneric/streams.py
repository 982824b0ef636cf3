"""One SDK REST stream class per resource: request -> paginator -> selector -> records."""

from __future__ import annotations

import email.utils
import json
import time
import typing as t
from urllib.parse import urlsplit, urlunsplit

import msgspec
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_restgeneric.errors import StreamError
from tap_restgeneric.paginators import PAGINATORS, Page, PaginationLoop
from tap_restgeneric.schema_inference import infer_schema
from tap_restgeneric.selectors import RecordSelector, SelectorMismatch
from tap_restgeneric.templates import Template, has_templates, render_tree

if t.TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_restgeneric.dialect import ResourceConfig, Source

#: Discovery samples up to this many pages of a resource that has no schema.
INFERENCE_MAX_PAGES = 5
INFERENCE_MAX_RECORDS = 1000
USER_AGENT = "tap-restgeneric/0.1"


def _decoder() -> msgspec.json.Decoder:
    return msgspec.json.Decoder()


def display_url(url: str) -> str:
    """The URL without its query string: query values may carry credentials."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


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
        self._decode = _decoder().decode
        self._error_handler = endpoint["error_handler"]
        self._retry_statuses = frozenset(self._error_handler["retry_on_status_codes"])
        self._incremental = endpoint.get("incremental")
        self._dynamic_request = any(has_templates(endpoint.get(k)) for k in ("params", "json", "headers", "path"))
        schema = resource.get("schema") or self.preset_schema
        super().__init__(tap=tap, name=resource["name"], schema=schema, http_method=endpoint["method"])
        self.path = endpoint["path"].source if isinstance(endpoint["path"], Template) else endpoint["path"]
        self.primary_keys = resource["primary_key"] if resource["write_disposition"] == "merge" else []
        if self._incremental:
            self.replication_key = self._incremental["cursor_path"]
        self._template_context_cache: dict | None = None

    # ------------------------------------------------------------ schema

    @property
    def schema(self) -> dict:
        if self._schema is None:
            self._schema = self._input_schema or self._infer_schema()
        return self._schema

    def _infer_schema(self) -> dict:
        """Sample the API (several pages when it has them) and infer a schema."""
        records: list[dict] = []
        for page_number, page in enumerate(self._pages(context=None, start_value=None)):
            records.extend(page.records)
            if page_number + 1 >= INFERENCE_MAX_PAGES or len(records) >= INFERENCE_MAX_RECORDS:
                break
        required = list(self.resource["primary_key"])
        if self._incremental and self._incremental["cursor_path"] not in required:
            records = records or [{self._incremental["cursor_path"]: None}]
        return infer_schema(
            records,
            required=required,
            description=f"Stream {self.resource['name']}: {self.http_method} {self.path} (inferred from {len(records)} sampled records).",
        )

    # ------------------------------------------------------------ request

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

    def _template_context(self, context: t.Any) -> dict:
        return {
            "secrets": dict(self.config.get("secrets") or {}),
            "config": dict(self.config),
            "incremental": {"start_value": self._start_value, "end_value": (self._incremental or {}).get("end_value")},
        }

    def get_url(self, context: t.Any) -> str:
        path = self._endpoint["path"]
        if isinstance(path, Template):
            path = path(self._template_context(context))
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.url_base}/{path.lstrip('/')}" if path else self.url_base

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        endpoint = self._endpoint
        params, headers, body = endpoint.get("params") or {}, endpoint.get("headers") or {}, endpoint.get("json")
        if self._dynamic_request:
            ctx = self._template_context(page.stream_context)
            params, headers, body = render_tree(params, ctx), render_tree(headers, ctx), render_tree(body, ctx)
        params = {k: v for k, v in params.items() if v is not None}
        if self._incremental:
            for key, value in (("start_param", self._start_value), ("end_param", self._incremental.get("end_value"))):
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
            options["context"] = {"secrets": dict(self.config.get("secrets") or {}), "config": dict(self.config)}
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
        """``Retry-After`` (seconds or HTTP date) when the response has it, capped at
        ``max_retry_after``; otherwise ``backoff_factor * 2 ** attempt``."""
        handler = self._error_handler
        cap = float(handler["max_retry_after"])
        response = getattr(exception, "response", None)
        retry_after = response.headers.get("Retry-After") if response is not None else None
        if retry_after:
            seconds = _retry_after_seconds(retry_after)
            if seconds is not None:
                return min(max(seconds, 0.0), cap)
        return min(float(handler["backoff_factor"]) * (2**attempt), cap * 5)

    def backoff_handler(self, details: t.Any) -> None:
        exception = details.get("exception")
        reason = str(exception) if isinstance(exception, RetriableAPIError) else type(exception).__name__
        self.logger.warning("Retrying in %.2f s (attempt %d): %s", details.get("wait") or 0, details.get("tries"), reason)

    # ------------------------------------------------------------ records

    @property
    def _start_value(self) -> t.Any:
        if not self._incremental:
            return None
        value = self.get_starting_replication_key_value(self.context)
        if value is None:
            value = self._incremental.get("initial_value")
        if value is None:
            value = self.config.get("start_date")
        return value

    def _pages(self, context: t.Any, start_value: t.Any) -> t.Iterator[Page]:
        """Request page after page until the paginator's stop rule says so."""
        self._paginator = paginator = self.get_new_paginator()
        decorated_request = self.request_decorator(self._request)
        with self.get_http_request_counter() as request_counter:
            request_counter.with_context(context)
            while not paginator.finished:
                prepared = self._prepare_request(context=context, page=paginator)
                try:
                    response = decorated_request(prepared, context)
                except RetriableAPIError as exc:
                    raise StreamError(f"{exc} (gave up after {self.backoff_max_tries()} attempts)") from exc
                except FatalAPIError as exc:
                    raise StreamError(str(exc)) from exc
                except requests.exceptions.RequestException as exc:
                    raise StreamError(
                        f"stream '{self.name}': request to {display_url(prepared.url or '')} failed after "
                        f"{self.backoff_max_tries()} attempts: {type(exc).__name__}"
                    ) from exc
                request_counter.increment()
                page = Page(response, self._parse_body(response), [])
                page.records = self._select(page)
                paginator.page = page
                yield page
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

    def request_records(self, context: t.Any) -> t.Iterable[dict]:
        start = self._start_value
        cursor = self._incremental["cursor_path"] if self._incremental else None
        for page in self._pages(context, start):
            if cursor is None or start is None:
                yield from page.records
            else:
                # Like dlt's incremental: records older than the start value are not emitted,
                # whether or not the API honoured start_param.
                for record in page.records:
                    value = record.get(cursor)
                    if value is None or type(value) is not type(start) or value >= start:
                        yield record


def _retry_after_seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def stream_class_for(source: Source, resource: ResourceConfig, preset_schema: dict | None) -> type[ResourceStream]:
    """Build the stream class of one resource (one class per resource)."""
    class_name = "".join(part.capitalize() for part in resource["name"].split("_")) + "Stream"
    return type(class_name, (ResourceStream,), {"source": source, "resource": resource, "preset_schema": preset_schema, "__module__": __name__})


def load_json(path: t.Any) -> dict:
    return json.loads(path.read_text())
