"""The pages of one stream's contexts: a new paginator for each, each token's request built from the
endpoint config (``RequestBuilder``) and prepared (``Sender``), sent with the stream's retries and
read into a ``Page`` (``ResponseReader``), by the page loop (``PageFetcher``)."""

from __future__ import annotations

import dataclasses
import typing as t

from tap_restgeneric.paging.page_loop import PageFetcher
from tap_restgeneric.paging.paginators import PAGINATORS, Paginator
from tap_restgeneric.paging.request_builder import PageToken

if t.TYPE_CHECKING:
    import logging
    import threading
    from collections.abc import Callable, Iterator

    import requests

    from tap_restgeneric.paging.page import Page
    from tap_restgeneric.paging.reader import ResponseReader
    from tap_restgeneric.paging.request_builder import RequestBuilder
    from tap_restgeneric.settings import Settings
    from tap_restgeneric.source.model import EndpointConfig
    from tap_restgeneric.source.parent_link import ParentLink
    from tap_restgeneric.source.window_config import Slice
    from tap_restgeneric.streams.notes import Notes
    from tap_restgeneric.transport.sender import Sender


@dataclasses.dataclass(kw_only=True)
class PageSource:
    """The pages of one stream (``link``: a child's parent, whose fields its requests read)."""

    stream: str
    endpoint: EndpointConfig
    link: ParentLink | None
    builder: RequestBuilder
    sender: Sender
    reader: ResponseReader
    settings: Settings
    #: What a cursor paginator's templates see as ``secrets`` and ``config``.
    template_context: t.Mapping[str, t.Any]
    #: What makes two records the same for the loop guard (None: their whole content).
    identity: Callable[[dict], t.Any] | None
    notes: Notes
    logger: logging.Logger

    def paginator(self) -> Paginator:
        """A new paginator of the endpoint's config (one per context: it keeps the tokens it requested)."""
        options: dict[str, t.Any] = dict(self.endpoint["paginator"])
        kind = PAGINATORS[options.pop("type")]
        if kind.type_name == "cursor":
            options["context"] = self.template_context
        if kind.type_name == "auto":
            options["log"] = self.notes.info_once
            options["method"] = self.endpoint["method"]
        return kind(**options)

    def requests_for(
        self, context: t.Any, start: t.Any, piece: Slice | None = None
    ) -> tuple[Paginator, Callable[[t.Any], requests.PreparedRequest]]:
        """A new paginator, and how to prepare the request of each of its tokens for ``context`` (the doctor's)."""
        paginator = self.paginator()
        return paginator, lambda value: self._prepare(context, start, paginator, value, piece)

    def fetcher(
        self,
        context: t.Any,
        start: t.Any,
        *,
        concurrency: int,
        on_request: Callable[[], None] = lambda: None,
        abandoned: threading.Event | None = None,
        piece: Slice | None = None,
    ) -> PageFetcher:
        """The pages of one context (of one partition and window: ``piece``); ``abandoned``, when given,
        stops the retries of every request."""
        paginator = self.paginator()
        label = self.label(context)

        def fetch(prepared: requests.PreparedRequest, cancelled: threading.Event | None) -> Page:
            read = lambda response: self.reader.page(response, label)  # noqa: E731 - the reader of this context's pages
            return self.sender.fetch(prepared, read, cancelled=abandoned or cancelled, context=context, context_label=label)

        return PageFetcher(
            paginator=paginator,
            prepare=lambda value: self._prepare(context, start, paginator, value, piece),
            fetch=fetch,
            stream_name=self.stream,
            paginator_type=self.endpoint["paginator"]["type"],
            concurrency=concurrency,
            on_request=on_request,
            record_key=self.identity,
            max_pages=self.settings.max_pages,
            max_ahead_bytes=self.settings.max_buffer_bytes,
            strict_totals=self.settings.total_mismatch == "error",
            logger=self.logger,
        )

    def ahead(self, context: t.Any, start: t.Any, abandoned: threading.Event) -> Iterator[Page]:
        """Pages requested ahead of the SDK reaching them (the scheduler's): one parent's, one request at a
        time within it, or a whole top-level stream's, with its own look-ahead."""
        concurrency = 1 if self.link else self.settings.max_concurrency
        return self.fetcher(context if self.link else None, start, concurrency=concurrency, abandoned=abandoned).pages()

    def label(self, context: t.Any) -> str:
        """How messages name the parent record of a context (a child stream's)."""
        return self.link.label(context) if self.link is not None else ""

    def _prepare(
        self, context: t.Any, start: t.Any, paginator: Paginator, value: t.Any, piece: Slice | None = None
    ) -> requests.PreparedRequest:
        resources = self.link.resources(context) if self.link is not None and context else {}
        request = self.builder.build(PageToken(value, start, paginator, resources, piece))  # (a BodyRequest)
        return self.sender.prepare(request, self.label(context))
