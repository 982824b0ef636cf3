"""Page after page for one stream: the paginator's requests, sent in order or ahead.

``PageFetcher`` is told how to do everything it needs (``prepare`` a request for a token,
``send`` it with retries, ``read`` a response into a ``Page``) and owns only the order:
it asks the paginator for the next token after each page it yields, and stops when the
paginator is finished. When the next request does not depend on the previous response
(page_number, offset), up to ``concurrency`` pages are requested ahead on threads; they
are still read, checked against the stop rule and yielded strictly in page order, so
records, stop rules and STATE are exactly the sequential ones.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import hashlib
import math
import threading
import time
import typing as t

import msgspec

from tap_restgeneric.errors import StreamError, stream_line
from tap_restgeneric.paging.paginators import PaginationLoop, Paginator, PaginatorRefused
from tap_restgeneric.settings import DEFAULT_MAX_BUFFER_MB, DEFAULT_MAX_PAGES

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterator

    import requests

    from tap_restgeneric.paging.page import Page

#: Responses faster than this (seconds) are not worth requesting ahead; see PageFetcher._pages_ahead.
AHEAD_MIN_LATENCY = 0.003
#: Full pages read per page more requested ahead (see PageFetcher._pages_ahead).
RAMP = 2
#: Pages a new page's records are compared with (by a 16-byte digest each: see PageFetcher._checked).
RECENT_PAGES = 100


@dataclasses.dataclass
class PageFetcher:
    """Yields the pages of one stream (or one partition of it).

    ``fetch(prepared, cancelled)`` sends with the stream's retries and reads the response
    into a ``Page``; a request sent ahead gets an event that is set once nobody will read
    its page (``fetch`` raises ``Abandoned`` then, instead of retrying). ``on_request``
    counts each page read.
    """

    paginator: Paginator
    prepare: Callable[[t.Any], requests.PreparedRequest]
    fetch: Callable[[requests.PreparedRequest, threading.Event | None], Page]
    stream_name: str
    paginator_type: str
    concurrency: int = 1
    on_request: Callable[[], None] = lambda: None
    #: What makes two records the same (the primary key); None: their whole content.
    record_key: Callable[[dict], t.Any] | None = None
    max_pages: int = DEFAULT_MAX_PAGES
    #: Bytes of bodies the pages requested ahead may add up to (by the largest page seen): the
    #: max_buffer_mb setting, so a stream of large pages requests fewer ahead.
    max_ahead_bytes: int = DEFAULT_MAX_BUFFER_MB * 1024 * 1024
    logger: logging.Logger | None = None
    #: dlt's stated totals (total_path) that disagree with what was read stop the stream (else: a warning).
    strict_totals: bool = False
    pages_read: int = dataclasses.field(default=0, init=False)
    records_read: int = dataclasses.field(default=0, init=False)
    #: The digests of the records of the last RECENT_PAGES pages with records, and their page numbers.
    _recent: dict[bytes, int] = dataclasses.field(default_factory=dict, init=False)

    def pages(self) -> Iterator[Page]:
        paginator = self.paginator
        first = True
        page: Page | None = None
        while not paginator.finished:
            if not first and paginator.predictable and self.concurrency > 1:
                yield from self._pages_ahead(page)
                return
            first = False
            page = self._checked(self.fetch(self.prepare(paginator.current_value), None))
            self.on_request()
            yield page
            self._advance(page)

    def _checked(self, page: Page) -> Page:
        """A page whose records repeat those of a recent page stops the stream before they are
        written again: an API ignoring its paging parameter (offset answering page one forever), or
        links that differ (a nonce) but lead back to pages already read, which the token guard cannot
        tell apart. Records are the same when their keys are, or their whole content without a
        primary key (or when a record lacks its key); in order, as the API sent them."""
        self.pages_read += 1
        records = page.records
        self.records_read += len(records)
        if not records:
            return page
        digest = self._digest(records)
        seen = self._recent.get(digest)
        if seen is not None:
            if seen == self.pages_read - 1:
                raise self._error(
                    f"page {self.pages_read} has the same {len(records)} records as the page "
                    f"before it; the API ignores paginator {self.paginator_type!r}'s parameters (stopping instead of looping)"
                )
            raise self._error(
                f"page {self.pages_read} has the same {len(records)} records as page {seen}; "
                f"paginator {self.paginator_type!r} is going round in a loop (its next pages lead back to pages already read), "
                "stopping before writing them again"
            )
        recent = self._recent
        recent[digest] = self.pages_read
        if len(recent) > RECENT_PAGES:
            del recent[next(iter(recent))]  # the oldest (dicts keep their insertion order)
        return page

    def _digest(self, records: list) -> bytes:
        key = self.record_key
        if key is not None:
            keys = [key(record) for record in records]
            if not any(None in k for k in keys):
                return hashlib.blake2b(msgspec.json.encode(keys), digest_size=16).digest()
        return hashlib.blake2b(msgspec.json.encode(records), digest_size=16, person=b"content").digest()

    def _advance(self, page: Page) -> None:
        """After a page's records are out: the paginator's stop rule, or its loop guard."""
        paginator = self.paginator
        try:
            paginator.update(page)
        except PaginatorRefused as exc:
            raise self._error(str(exc)) from None
        except PaginationLoop as exc:
            raise self._error(
                f"paginator {self.paginator_type!r} would request the same page twice ({exc}); stopping instead of looping"
            ) from None
        if paginator.finished:
            page.stop_reason = paginator.stop_reason
            problem = paginator.total_mismatch(page, self.pages_read, self.records_read)
            if problem and self.strict_totals:
                raise self._error(f"{problem} (total_mismatch: error)")
            if problem and self.logger is not None:
                self.logger.warning("%s", stream_line(self.stream_name, problem))
            if self.logger is not None and paginator.stop_reason and "maximum_" in paginator.stop_reason:
                stopped = f"paging stopped: {paginator.stop_reason} (as configured); the API may have more"
                self.logger.warning("%s", stream_line(self.stream_name, stopped))
        elif self.pages_read >= self.max_pages:
            raise self._error(
                f"stopped after {self.pages_read:,} pages (the max_pages setting) "
                f"while paginator {self.paginator_type!r} still had a next page; raise max_pages if the API really has more"
            )

    def _error(self, message: str) -> StreamError:
        return StreamError(message, stream=self.stream_name)

    def _pages_ahead(self, page: Page | None) -> Iterator[Page]:
        """Pages past the end may be requested when no total tells where it is (at most
        ``concurrency`` of them); they are never read, so their errors do not count.

        How many pages are requested ahead adapts (Little's law): the time a response
        takes divided by the time the records of a page take to process, up to
        ``concurrency``. A response faster than ``AHEAD_MIN_LATENCY`` is not waiting on
        the network but on the server's CPU: more requests would only queue there, and
        threads would contend for the interpreter here, so requests stay inline.

        It also ramps up as the stream proves long: one page more ahead per ``RAMP`` full
        pages read, so a stream of a few pages costs at most a page or two past its end
        (requests are an API's quota), while a long one soon has ``concurrency`` in flight.
        And the bodies requested ahead stay under ``max_ahead_bytes``, by the largest page so far.
        """
        paginator = self.paginator
        pool = concurrent.futures.ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"{self.stream_name}-page")
        in_flight: collections.deque[tuple[t.Any, concurrent.futures.Future]] = collections.deque()
        abandoned = threading.Event()
        next_token = paginator.current_value  # the first token not requested yet
        last_token = paginator.last_value(page)
        latency = page.response.elapsed.total_seconds() if page else 0.0
        largest = page.size if page else 0
        work = 1e-3
        full_pages = 1  # the page before this loop did not end the stream

        def more_pages() -> bool:
            return last_token is None or next_token <= last_token

        try:
            while not paginator.finished:
                if in_flight:
                    token, future = in_flight.popleft()
                    assert token == paginator.current_value, (token, paginator.current_value)
                    fetched = future.result()
                else:
                    prepared = self.prepare(next_token)
                    next_token = paginator.value_after(next_token)
                    fetched = self.fetch(prepared, None)
                self.on_request()
                largest = max(largest, fetched.size)
                proven = full_pages // RAMP
                by_size = self.max_ahead_bytes // largest if largest else self.concurrency
                ahead = (
                    0
                    if latency < AHEAD_MIN_LATENCY
                    else min(self.concurrency, proven, max(1, by_size), math.ceil(latency / max(work, 1e-4)))
                )
                while len(in_flight) < ahead and more_pages():
                    prepared = self.prepare(next_token)
                    in_flight.append((next_token, pool.submit(self.fetch, prepared, abandoned)))
                    next_token = paginator.value_after(next_token)
                page = self._checked(fetched)
                started = time.perf_counter()
                yield page
                work = 0.7 * work + 0.3 * (time.perf_counter() - started)
                latency = 0.7 * latency + 0.3 * page.response.elapsed.total_seconds()
                self._advance(page)
                full_pages += 1
        finally:
            abandoned.set()  # requests still running stop retrying
            pool.shutdown(wait=False, cancel_futures=True)
