"""A response into a ``Page``: its body parsed (msgspec) and its records selected."""

from __future__ import annotations

import typing as t

import msgspec

from tap_restgeneric.errors import StreamError
from tap_restgeneric.http.paginators import Page
from tap_restgeneric.http.selectors import RecordSelector, SelectorMismatch
from tap_restgeneric.http.transport import display_url

if t.TYPE_CHECKING:
    import requests


class ResponseReader:
    """Reads the responses of one stream; every failure names the stream, status and URL."""

    def __init__(self, stream_name: str, data_selector: t.Any) -> None:
        self.stream_name = stream_name
        self.selector = RecordSelector(data_selector)
        self._decode = msgspec.json.Decoder().decode

    def __call__(self, response: requests.Response) -> Page:
        body = self.parse(response)
        return Page(response, body, self.select(body, response))

    def parse(self, response: requests.Response) -> t.Any:
        content = response.content
        if not content.strip():
            return None
        try:
            return self._decode(content)
        except msgspec.DecodeError:
            kind = response.headers.get("Content-Type", "no Content-Type")
            raise StreamError(
                f"stream '{self.stream_name}': response is not JSON ({kind}, HTTP {response.status_code}) "
                f"from {display_url(response.url)}"
            ) from None

    def select(self, body: t.Any, response: requests.Response) -> list:
        if body is None:
            return []
        try:
            records = self.selector.select_records(body)
        except SelectorMismatch as exc:
            raise StreamError(
                f"stream '{self.stream_name}': {exc} in the response (HTTP {response.status_code}) "
                f"from {display_url(response.url)}"
            ) from None
        if records and not isinstance(records[0], dict):
            raise StreamError(
                f"stream '{self.stream_name}': data_selector {self.selector.spec!r} selected {type(records[0]).__name__} "
                f"values, not objects (HTTP {response.status_code}) from {display_url(response.url)}"
            )
        return records
