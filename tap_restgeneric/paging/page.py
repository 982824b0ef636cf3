"""``Page``: what every part of the page loop passes around (a response, its parsed body, its records)."""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    import requests


@dataclasses.dataclass(slots=True)
class Page:
    """One response, its parsed body and the records the selector found in it."""

    response: requests.Response
    body: t.Any
    records: list
    #: Set by a response action ``ignore``: no records, and paging ends (dlt's IgnoreResponseException).
    ignored: bool = False
    #: Why paging stopped after this page (set on the last page once the paginator has decided).
    stop_reason: str | None = None
    #: Bytes of the body as read (decompressed): what the page weighs while it waits to be read.
    size: int = 0
