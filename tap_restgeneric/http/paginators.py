"""Paginators of the dialect, one small class per ``type``: what the next request is.

Each decides from the page just read, passed in: ``update(page)`` gets the ``Page``
(response, parsed body, records), as dlt's paginators get ``update_state(response, data)``,
and either moves ``current_value`` to the next page's token or sets ``finished``. The token
goes into the next request through ``apply(request, token)``. ``PAGINATORS`` maps ``type``
names to classes; the config keys each accepts are its ``__init__``'s keyword parameters
(``paginator_options``), the one list the dialect's validation reads.

They do not build on the SDK's ``BaseAPIPaginator``: its ``advance(response)`` sees only the
``requests.Response``, so every paginator reading the body (total, cursor, next URL, has-more)
would parse it a second time. A paginator that would request a page it already requested
raises ``PaginationLoop`` instead of looping.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing as t
from urllib.parse import urljoin, urlsplit

from tap_restgeneric.http.selectors import JSONPath

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.streams.rest import HTTPRequest

    from tap_restgeneric.templates import Template


@dataclasses.dataclass(slots=True)
class Page:
    """One response, its parsed body and the records the selector found in it."""

    response: requests.Response
    body: t.Any
    records: list


class PaginationLoop(Exception):
    def __init__(self, token: t.Any) -> None:
        super().__init__(f"the next page token {token!r} was already requested")
        self.token = token


class Paginator:
    """Base of the dialect's paginators."""

    type_name: t.ClassVar[str]
    #: True when the next request does not depend on the previous response (page_number, offset).
    predictable: t.ClassVar[bool] = False

    def __init__(self, first: t.Any) -> None:
        self.current_value = first
        self.finished = False
        self._requested = {_key(first)}

    def update(self, page: Page) -> None:
        """Decide the request after ``page``: the next token, or finished."""
        if not self.has_more(page):
            self.finished = True
            return
        following = self.next_value(page)
        if following is None:
            self.finished = True
            return
        key = _key(following)
        if key in self._requested:
            raise PaginationLoop(following)
        self._requested.add(key)
        self.current_value = following

    def has_more(self, page: Page) -> bool:  # noqa: ARG002 - the stop rules of most paginators read the page
        return True

    def next_value(self, page: Page) -> t.Any:
        """The token of the page after ``page`` (None: there is none)."""
        raise NotImplementedError

    def apply(self, request: HTTPRequest, token: t.Any) -> None:
        """Put ``token`` into the request for its page."""

    # Predictable paginators (page_number, offset) also answer these, so that pages
    # can be requested ahead of the responses that would name them.
    def value_after(self, token: t.Any) -> t.Any:
        raise NotImplementedError

    def last_value(self, page: Page | None) -> t.Any | None:  # noqa: ARG002
        """The last token that can hold records, when the pages seen so far tell it."""
        return None


def _key(token: t.Any) -> t.Hashable:
    try:
        hash(token)
    except TypeError:
        return repr(token)
    return t.cast("t.Hashable", token)


def _number(value: t.Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class _RangePaginator(Paginator):
    """Stop rules shared by page_number and offset (dlt's RangePaginator, plus short pages)."""

    predictable = True

    def __init__(
        self, first: int, *, limit: int | None, total_path: t.Any, has_more_path: t.Any,
        maximum: int | None, stop_after_empty_page: bool,
    ) -> None:
        super().__init__(first)
        self.limit = limit
        self.total_path = JSONPath(total_path) if total_path else None
        self.has_more_path = JSONPath(has_more_path) if has_more_path else None
        self.maximum = maximum
        self.stop_after_empty_page = stop_after_empty_page

    def total(self, page: Page | None) -> int | None:
        """The total ``page`` states (pages or items), if it states one."""
        return _number(self.total_path.first(page.body)) if self.total_path and page else None

    def _end_from_total(self, total: int) -> int:
        """The first token past the records, given the stated total."""
        raise NotImplementedError

    def has_more(self, page: Page) -> bool:
        count = len(page.records)
        if self.stop_after_empty_page and count == 0:
            return False
        if self.limit is not None and count < self.limit:
            return False
        if self.has_more_path is not None and not self.has_more_path.first(page.body, default=True):
            return False
        following = self.value_after(self.current_value)
        total = self.total(page)
        if total is not None and following >= self._end_from_total(total):
            return False
        return not (self.maximum is not None and following >= self.maximum)

    def next_value(self, page: Page) -> int:  # noqa: ARG002 - the next token is the one after this
        return self.value_after(self.current_value)

    def last_value(self, page: Page | None) -> int | None:
        bounds = [self.value_before(self.maximum)] if self.maximum is not None else []
        total = self.total(page)
        if total is not None:
            bounds.append(self.value_before(self._end_from_total(total)))
        return min(bounds) if bounds else None

    def value_before(self, end: int) -> int:
        raise NotImplementedError


class SinglePagePaginator(Paginator):
    """One request, no paging.

    Sample response ``{"data": [{"id": 1}, {"id": 2}]}`` with config
    ``{"type": "single_page"}``: one request, two records.
    """

    type_name = "single_page"

    def __init__(self) -> None:
        super().__init__(None)

    def has_more(self, page: Page) -> bool:  # noqa: ARG002
        return False


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
        stop_after_empty_page: bool = True,
    ) -> None:
        self.base_page = next((v for v in (base_page, start_from_page) if v is not None), 1)
        super().__init__(
            page if page is not None else self.base_page, limit=limit, total_path=total_path,
            has_more_path=has_more_path, maximum=maximum_page, stop_after_empty_page=stop_after_empty_page,
        )
        self.page_param = page_param
        self.limit_param = limit_param

    def _end_from_total(self, total: int) -> int:
        return total + self.base_page

    def apply(self, request: HTTPRequest, token: int) -> None:
        request.params[self.page_param] = token
        if self.limit_param and self.limit is not None:
            request.params[self.limit_param] = self.limit

    def value_after(self, token: int) -> int:
        return token + 1

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
    """

    type_name = "offset"

    def __init__(
        self,
        *,
        limit: int,
        offset: int = 0,
        offset_param: str = "offset",
        limit_param: str = "limit",
        total_path: str | list | None = "total",
        maximum_offset: int | None = None,
        has_more_path: str | list | None = None,
        stop_after_empty_page: bool = True,
    ) -> None:
        super().__init__(
            offset, limit=limit, total_path=total_path, has_more_path=has_more_path,
            maximum=maximum_offset, stop_after_empty_page=stop_after_empty_page,
        )
        self.step = limit
        self.offset_param = offset_param
        self.limit_param = limit_param

    def _end_from_total(self, total: int) -> int:
        return total

    def apply(self, request: HTTPRequest, token: int) -> None:
        request.params[self.offset_param] = token
        request.params[self.limit_param] = self.step

    def value_after(self, token: int) -> int:
        return token + self.step

    def value_before(self, end: int) -> int:
        return end - 1


def _is_link(value: str) -> bool:
    return value.startswith("/") or urlsplit(value).scheme in ("http", "https")


class _NextReference(Paginator):
    """Tokens are either a next URL (absolute or resolved against the last URL) or a cursor."""

    cursor_param: str | None = None

    #: json_link and header_link values are always URLs (maybe relative); a cursor may be a token.
    values_are_links: t.ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__(None)

    def _reference(self, page: Page, value: t.Any) -> t.Any:
        if value in (None, "", {}, []) or value is False:
            return None
        if isinstance(value, str) and (self.values_are_links or _is_link(value)):
            return urljoin(page.response.url, value)
        return value

    def apply(self, request: HTTPRequest, token: t.Any) -> None:
        if token is None:
            return
        if isinstance(token, str) and _is_link(token):
            # The link carries the query of the next page; the config's params were for page one.
            request.url = token
            request.params = {}
        else:
            request.params[self.cursor_param or "cursor"] = token


class CursorPaginator(_NextReference):
    """A cursor from the body, sent back as ``cursor_param``, or followed as a link.

    dlt form: ``{"type": "cursor", "cursor_path": "cursors.next", "cursor_param": "cursor"}``
    for ``{"data": [...], "cursors": {"next": "abc"}}`` requests ``?cursor=abc``.

    Template form (Airbyte style): ``{"type": "cursor", "cursor_value":
    "{{ response.paging.next }}", "stop_condition": "{{ not response.paging.next }}"}``.

    A cursor that is an absolute URL or a path (``/v2/users?cursor=abc``) is requested
    as the next page. Stops when ``stop_condition`` is true or there is no cursor.
    """

    type_name = "cursor"
    values_are_links = False

    def __init__(
        self,
        *,
        cursor_path: str | list | None = None,
        cursor_param: str | None = None,
        cursor_value: Template | None = None,
        stop_condition: Template | None = None,
        context: t.Mapping[str, t.Any] | None = None,
    ) -> None:
        super().__init__()
        if cursor_value is None and cursor_path is None:
            cursor_path = "cursors.next"
        self.cursor_path = JSONPath(cursor_path) if cursor_path else None
        self.cursor_param = cursor_param or "cursor"
        self.cursor_value = cursor_value
        self.stop_condition = stop_condition
        self.context = context or {}

    def _template_context(self, page: Page) -> dict:
        return {
            **self.context,
            "response": page.body,
            "headers": page.response.headers,
            "last_record": page.records[-1] if page.records else None,
        }

    def has_more(self, page: Page) -> bool:
        if self.stop_condition is not None:
            return not self.stop_condition(self._template_context(page))
        return True

    def next_value(self, page: Page) -> t.Any:
        if self.cursor_value is not None:
            value = self.cursor_value(self._template_context(page))
        else:
            assert self.cursor_path is not None
            value = self.cursor_path.first(page.body)
        return self._reference(page, value)


class JSONLinkPaginator(_NextReference):
    """Follows a next-page URL found in the body at ``next_url_path`` (default ``next``).

    ``{"data": [...], "links": {"next": "https://api.example.com/items?page=2"}}`` with
    ``{"type": "json_link", "next_url_path": "links.next"}``. Stops when it is absent or null.
    """

    type_name = "json_link"

    def __init__(self, *, next_url_path: str | list = "next") -> None:
        super().__init__()
        self.next_url_path = JSONPath(next_url_path)

    def next_value(self, page: Page) -> t.Any:
        return self._reference(page, self.next_url_path.first(page.body))


class HeaderLinkPaginator(_NextReference):
    """Follows the RFC 8288 ``Link`` header's ``rel="next"`` (``links_next_key``).

    ``Link: <https://api.example.com/items?page=2>; rel="next"`` with
    ``{"type": "header_link"}``. Stops when the response has no such link.
    """

    type_name = "header_link"

    def __init__(self, *, links_next_key: str = "next") -> None:
        super().__init__()
        self.links_next_key = links_next_key

    def next_value(self, page: Page) -> t.Any:
        return self._reference(page, page.response.links.get(self.links_next_key, {}).get("url"))


class AutoPaginator(_NextReference):
    """dlt's default when no paginator is configured: follow a ``Link: rel="next"``
    header, else a URL under ``next`` in the body; otherwise the first page is the only one.

    ``{"data": [...], "next": "https://api.example.com/items?page=2"}`` with no paginator.
    """

    type_name = "auto"

    def next_value(self, page: Page) -> t.Any:
        link = page.response.links.get("next", {}).get("url")
        if link is None and isinstance(page.body, dict):
            candidate = page.body.get("next")
            link = candidate if isinstance(candidate, str) and _is_link(candidate) else None
        return self._reference(page, link)


PAGINATORS: dict[str, type[Paginator]] = {
    cls.type_name: cls
    for cls in (
        SinglePagePaginator,
        PageNumberPaginator,
        OffsetPaginator,
        CursorPaginator,
        JSONLinkPaginator,
        HeaderLinkPaginator,
        AutoPaginator,
    )
}
#: dlt's older name for json_link.
PAGINATOR_ALIASES = {"json_response": "json_link"}
#: Arguments a paginator gets from the stream, not from the config.
_RUNTIME_ARGUMENTS = frozenset({"self", "context"})


def paginator_options(kind: str) -> frozenset[str]:
    """The config keys paginator type ``kind`` accepts: its ``__init__``'s keyword parameters."""
    parameters = inspect.signature(PAGINATORS[kind].__init__).parameters
    return frozenset(parameters) - _RUNTIME_ARGUMENTS
