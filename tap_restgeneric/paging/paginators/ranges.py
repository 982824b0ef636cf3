"""page_number and offset: the next request does not depend on the response, so pages
can be requested ahead (``predictable``); dlt's RangePaginator stop rules, plus short pages."""

from __future__ import annotations

import typing as t

from typing_extensions import override

from tap_restgeneric.paging.paginators.base import Paginator, put_token, says_no_more
from tap_restgeneric.paging.selectors import JSONPath
from tap_restgeneric.values import number, whole

if t.TYPE_CHECKING:
    from singer_sdk.streams.rest import HTTPRequest

    from tap_restgeneric.paging.page import Page


class _RangePaginator(Paginator):
    """Stop rules shared by page_number and offset (dlt's RangePaginator, plus short pages)."""

    predictable = True

    def __init__(
        self,
        first: int,
        limit: int | None,
        total_path: t.Any,
        has_more_path: t.Any,
        maximum: int | None,
        stop_after_empty_page: bool,
    ) -> None:
        super().__init__(first, stop_after_empty_page=stop_after_empty_page)
        self.first = first
        self.limit = limit
        self.total_path = JSONPath(total_path) if total_path else None
        self.has_more_path = JSONPath(has_more_path) if has_more_path else None
        self.maximum = maximum

    def total(self, page: Page | None) -> int | None:
        """The total ``page`` states (pages or items), if it states one."""
        return whole(number(self.total_path.first(page.body))) if self.total_path and page else None

    def _end_from_total(self, total: int) -> int:
        """The first token past the records, given the stated total."""
        raise NotImplementedError

    #: The name of ``maximum`` in the config (maximum_page, maximum_offset).
    maximum_name: t.ClassVar[str]

    @override
    def stop_rule(self, page: Page) -> str | None:
        count = len(page.records)
        if self.limit is not None and count < self.limit:
            return f"short page ({count} records, limit {self.limit})"
        if self.has_more_path is not None and says_no_more(self.has_more_path.first(page.body, default=True)):
            return f"{self.has_more_path.spec} is false"
        following = self.value_after(self.current_value)
        total = self.total(page)
        if total is not None and following >= self._end_from_total(total):
            return f"total reached ({self.total_path.spec if self.total_path else 'total'}: {total})"
        if self.maximum is not None and following >= self.maximum:
            return f"{self.maximum_name} {self.maximum} reached"
        return None

    @override
    def next_value(self, page: Page) -> int:
        return self.value_after(self.current_value)

    #: What the stated total counts: pages (page_number) or records (offset).
    total_counts: t.ClassVar[str]

    @override
    def total_mismatch(self, page: Page, pages_read: int, records_read: int) -> str | None:
        """When paging ended by the data (not a configured maximum) and the last page stated a total
        other than what was read: the API's total and the count, said (a short load is not silent)."""
        total = self.total(page)
        if total is None or (self.stop_reason or "").startswith(self.maximum_name):
            return None
        expected = self._end_from_total(total) - self.first
        read = pages_read if self.total_counts == "pages" else records_read
        if expected <= 0 or read == expected:
            return None
        spec = self.total_path.spec if self.total_path else "total"
        return f"the API stated {expected:,} {self.total_counts} ({spec}: {total}) but {read:,} were read"

    @override
    def last_value(self, page: Page | None) -> int | None:
        bounds = [self.value_before(self.maximum)] if self.maximum is not None else []
        total = self.total(page)
        if total is not None:
            bounds.append(self.value_before(self._end_from_total(total)))
        return min(bounds) if bounds else None

    def value_before(self, end: int) -> int:
        raise NotImplementedError


class PageNumberPaginator(_RangePaginator):
    """Sends the page number in ``page_param``; numbering starts at 1.

    Sample response ``{"items": [...250 records...], "total_pages": 3}`` with config
    ``{"type": "page_number", "page_param": "page", "limit": 250,
    "total_path": "total_pages"}`` requests ``?page=1``, ``?page=2``, ``?page=3``.

    Stops after: an empty page; a page shorter than ``limit``; the page numbered
    ``total`` (``total_path``, a count of pages, default ``total`` when present);
    ``has_more_path`` false; before ``maximum_page`` (exclusive, as in dlt).
    ``start_from_page`` / dlt's ``base_page`` / ``page`` set the first page.
    """

    type_name = "page_number"
    maximum_name = "maximum_page"
    total_counts = "pages"

    def __init__(
        self,
        *,
        page_param: str = "page",
        start_from_page: int | None = None,
        base_page: int | None = None,
        page: int | None = None,
        limit: int | None = None,
        limit_param: str | None = None,
        total_path: str | list | None = "total",
        maximum_page: int | None = None,
        has_more_path: str | list | None = None,
        page_body_path: str | None = None,
        stop_after_empty_page: bool = True,
        inject_on_first_request: bool = True,
    ) -> None:
        self.base_page = next((v for v in (base_page, start_from_page) if v is not None), 1)
        #: False: the first request carries no page parameter (Airbyte's PageIncrement default).
        self.inject_on_first_request = inject_on_first_request
        first = page if page is not None else self.base_page
        super().__init__(first, limit, total_path, has_more_path, maximum_page, stop_after_empty_page)
        self.page_param = page_param
        self.limit_param = limit_param
        self.page_body_path = page_body_path

    @override
    def _end_from_total(self, total: int) -> int:
        return total + self.base_page

    @override
    def apply(self, request: HTTPRequest, token: int) -> None:
        if self.inject_on_first_request or token != self.first:
            put_token(request, self.page_param, self.page_body_path, token)
        if self.limit_param and self.limit is not None:
            request.params[self.limit_param] = self.limit

    @override
    def value_after(self, token: int) -> int:
        return token + 1

    @override
    def value_before(self, end: int) -> int:
        return end - 1


class OffsetPaginator(_RangePaginator):
    """Sends ``offset_param`` and ``limit_param``; the offset grows by ``limit``.

    Sample response ``{"data": [...100 records...], "total": 250}`` with config
    ``{"type": "offset", "limit": 100}`` requests ``?offset=0&limit=100``,
    ``?offset=100&limit=100``, ``?offset=200&limit=100``.

    Stops after: an empty page; a page shorter than ``limit``; an offset reaching
    ``total`` (``total_path``, a count of items, default ``total`` when present);
    ``has_more_path`` false; an offset reaching ``maximum_offset``.

    A POST API paged in its JSON body (dlt's ``offset_body_path`` / ``limit_body_path``):
    ``{"type": "offset", "limit": 100, "offset_body_path": "paging.offset", "limit_body_path":
    "paging.limit"}`` sends ``{"paging": {"offset": 100, "limit": 100}, …}``.
    """

    type_name = "offset"
    maximum_name = "maximum_offset"
    total_counts = "records"

    def __init__(
        self,
        *,
        limit: int,
        offset: int = 0,
        offset_param: str = "offset",
        limit_param: str | None = "limit",
        total_path: str | list | None = "total",
        maximum_offset: int | None = None,
        has_more_path: str | list | None = None,
        offset_body_path: str | None = None,
        limit_body_path: str | None = None,
        stop_after_empty_page: bool = True,
        inject_on_first_request: bool = True,
    ) -> None:
        #: False: the first request carries no offset parameter (Airbyte's OffsetIncrement default).
        self.inject_on_first_request = inject_on_first_request
        super().__init__(offset, limit, total_path, has_more_path, maximum_offset, stop_after_empty_page)
        self.step = limit
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.offset_body_path = offset_body_path
        self.limit_body_path = limit_body_path

    @override
    def _end_from_total(self, total: int) -> int:
        return total

    @override
    def apply(self, request: HTTPRequest, token: int) -> None:
        if self.inject_on_first_request or token != self.first:
            put_token(request, self.offset_param, self.offset_body_path, token)
        if self.limit_param:  # None: no limit is sent (Airbyte's OffsetIncrement without a page_size_option)
            put_token(request, self.limit_param, self.limit_body_path, self.step)

    @override
    def value_after(self, token: int) -> int:
        return token + self.step

    @override
    def value_before(self, end: int) -> int:
        return end - 1
