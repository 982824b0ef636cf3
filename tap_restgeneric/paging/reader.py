"""A response into a ``Page``: its body decoded and parsed (msgspec) and its records selected.

A 200 whose body cannot be read (empty, not JSON, not in its declared charset, cut short)
raises ``UnreadableBody``, which is retried like a 5xx and then fails: it never ends a
stream as if it were done. A body that looks like an error rather than data (an
``error``/``errors`` object where records were expected, records with none of the key
properties) fails the stream with one line naming it and the URL.
"""

from __future__ import annotations

import sys
import typing as t

import msgspec

from tap_restgeneric.errors import StreamError, stream_line
from tap_restgeneric.output.redact import MASK, REDACTOR, excerpt, redact_tree
from tap_restgeneric.paging.decoders import (
    DEFAULT_MAX_BYTES,
    NESTED_TOO_DEEPLY,
    Decoder,
    JsonDecoder,
    UndecodableBody,
    UnreadableCharset,
    body_of,
    charset_of,
    decode_documents,
)
from tap_restgeneric.paging.page import Page
from tap_restgeneric.paging.response_actions import ResponseAction, first_action
from tap_restgeneric.paging.selectors import RecordSelector, SelectorMismatch
from tap_restgeneric.transport.origins import display_url
from tap_restgeneric.transport.retry import RetriableResponse

if t.TYPE_CHECKING:
    import logging

    import requests

#: Keys of an object that is an error report, not data, when no data_selector says otherwise.
ERROR_KEYS = ("error", "errors")


class UnreadableBody(RetriableResponse):
    """A response whose body could not be read as JSON: retried, then the stream fails."""


class ResponseReader:
    """Reads the responses of one stream; every failure names the stream, status and URL."""

    def __init__(
        self,
        stream_name: str,
        data_selector: t.Any,
        primary_key: t.Sequence[str] = (),
        logger: logging.Logger | None = None,
        decode: t.Callable[[bytes], t.Any] | None = None,
        *,
        check: t.Callable[[requests.Response], None] = lambda response: None,
        actions: t.Sequence[ResponseAction] = (),
        decoder: Decoder | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        selection: str = "dlt",
    ) -> None:
        self.stream_name = stream_name
        #: The endpoint's decoder when the body is not plain JSON (JSON Lines, CSV, XML, gzip or zip payloads).
        self.decoder = decoder
        #: What a compressed payload may expand to (max_response_mb).
        self.max_bytes = max_bytes
        #: Raises for a status that is an error (the retry policy's ``check``: retried, or fatal).
        self.check = check
        #: dlt's response actions of the endpoint (applied before the status is checked).
        self.actions = tuple(actions)
        self.logger = logger
        self._warned_whole_body = False
        self._warned_secret = False
        self.selector = RecordSelector(data_selector, selection)
        #: Airbyte's selection takes what it finds, as it finds it (no guess that a body is not data).
        self.primary_key = tuple(primary_key) if selection == "dlt" else ()
        #: The one JSON entry point (msgspec's decoder; another passed in only to try its ways of failing).
        self._json = JsonDecoder(decode) if decode else JsonDecoder()

    def page(self, response: requests.Response, context_label: str = "") -> Page:
        """A response of a sync as a page: the response actions first (``ignore``: a page without records,
        and paging ends), then its status checked, then its body read."""
        if self.actions and first_action(self.actions, response) == "ignore":
            if self.logger is not None:
                ignored = f"HTTP {response.status_code} from {display_url(response.url)} ignored (response_actions)"
                self.logger.info("%s", stream_line(self.stream_name, ignored, context_label))
            return Page(response, None, [], ignored=True)
        return self.checked(response)

    def checked(self, response: requests.Response) -> Page:
        """The response's status checked, then its body read (what the doctor's probes see: no response actions)."""
        self.check(response)
        return self(response)

    def __call__(self, response: requests.Response) -> Page:
        """The body read as a page: parsed, its records selected (the status is not looked at)."""
        body = self.parse(response)
        records = self.select(body, response)
        # One search of the body for every secret, and its records masked if it holds one (an API
        # echoing a credential): searching each record as it is written cost as much as writing it.
        if records and REDACTOR.active and REDACTOR.contains_bytes(response.content):
            records = self._without_secrets(records)
        page = Page(response, body, records, size=len(response.content))
        # The bytes are parsed: a page that waits to be read (fetched ahead) would hold them twice
        # over. Nothing reads a response's body once it is a page (recordings are saved when it
        # arrives); its headers, URL and timing stay. ``_content`` is where requests keeps it.
        response._content = b""  # noqa: SLF001
        return page

    def _without_secrets(self, records: list[dict]) -> list[dict]:
        masked = [t.cast("dict", redact_tree(record)) for record in records]
        if masked != records and not self._warned_secret and self.logger is not None:
            self._warned_secret = True
            self.logger.warning(
                "%s",
                stream_line(
                    self.stream_name,
                    f"a record holds a secret of the config (an API echoing a credential); it is written as {MASK}",
                ),
            )
        return masked

    def _where(self, response: requests.Response) -> str:
        return f"(HTTP {response.status_code}) from {display_url(response.url)}"

    def parse(self, response: requests.Response) -> t.Any:
        content = response.content
        if response.status_code == 204:  # No Content: a page without records
            return None
        if self.decoder is not None:
            return self._decoded(response)
        if not content.strip():
            raise UnreadableBody(f"empty response body {self._where(response)}", response, stream=self.stream_name)
        content_type = response.headers.get("Content-Type", "")
        try:
            return self._json.parse(content, charset_of(content_type))
        except UnreadableCharset as exc:
            raise UnreadableBody(
                f"response is {exc.problem} {self._where(response)}", response, stream=self.stream_name
            ) from None
        except UndecodableBody as exc:
            if exc.problem == NESTED_TOO_DEEPLY:  # msgspec stops at Python's recursion limit: reading it again will not help
                raise StreamError(
                    f"response is JSON nested too deeply to read "
                    f"(close to Python's limit of {sys.getrecursionlimit()} levels) {self._where(response)}",
                    stream=self.stream_name,
                ) from None
            kind = content_type or "no Content-Type"
            raise UnreadableBody(
                f"response is {exc.problem} ({kind}, HTTP {response.status_code}) from {display_url(response.url)}",
                response,
                stream=self.stream_name,
            ) from None

    def _decoded(self, response: requests.Response) -> t.Any:
        """The body read by the endpoint's decoder: what the selector and paginators read (one document, or the
        list of lines, rows or files). A body it cannot read stops the stream (not retried: the same bytes would come)."""
        decoder = t.cast("Decoder", self.decoder)
        try:
            documents = decode_documents(decoder, response.content, response.headers.get("Content-Type", ""), self.max_bytes)
        except UndecodableBody as exc:
            raise StreamError(
                f"response could not be read by the {exc.decoder} decoder: {exc.problem} {self._where(response)}",
                stream=self.stream_name,
            ) from None
        return body_of(decoder, documents)

    def select(self, body: t.Any, response: requests.Response) -> list:
        if body is None:
            return []
        if self.selector.automatic and isinstance(body, dict) and any(key in body for key in ERROR_KEYS):
            snippet = excerpt(msgspec.json.encode(body).decode())
            raise StreamError(f"the response is an error, not data {self._where(response)}: {snippet}", stream=self.stream_name)
        try:
            records = self.selector.select_records(body)
        except SelectorMismatch as exc:
            raise StreamError(f"{exc} in the response {self._where(response)}", stream=self.stream_name) from None
        if self.selector.automatic and len(records) == 1 and records[0] is body and not self._warned_whole_body:
            self._warned_whole_body = True
            if self.logger is not None:
                self.logger.warning(
                    "%s",
                    stream_line(
                        self.stream_name,
                        "the response is an object without a list of records; it is taken as one record, as dlt "
                        f"does (set data_selector to say where the records are) {self._where(response)}",
                    ),
                )
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise StreamError(
                    f"data_selector {self.selector.spec!r} selected a {type(record).__name__} "
                    f"(item {index}), not an object {self._where(response)}",
                    stream=self.stream_name,
                )
        if records and self.primary_key and not any(key in records[0] for key in self.primary_key):
            snippet = excerpt(msgspec.json.encode(records[0]).decode())
            raise StreamError(
                f"a record has none of the key properties {', '.join(self.primary_key)}, "
                f"so the response is probably not data {self._where(response)}: {snippet}",
                stream=self.stream_name,
            )
        return records
