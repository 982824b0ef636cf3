"""Paginators of the dialect, one small class per ``type``, on the SDK's base classes.

Every paginator gets the parsed page (``Page``: response, body, records) before the
SDK's ``advance()`` runs, states its stop rule in ``has_more()``, and puts its
token into the next request in ``apply()``. ``PAGINATORS`` maps ``type`` names to
classes; ``options`` lists the config keys each accepts.

A paginator that would request a page it already requested raises
``PaginationLoop`` instead of looping.
"""

from __future__ import annotations

import dataclasses
import typing as t
from urllib.parse import urljoin, urlsplit

from singer_sdk import pagination as sdk

from tap_restgeneric.selectors import JSONPath
from tap_restgeneric.templates import Template

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.streams.rest import HTTPRequest


@dataclasses.dataclass(slots=True)
class Page:
    response: requests.Response
    body: t.Any
    records: list


class PaginationLoop(Exception):
    def __init__(self, token: t.Any) -> None:
        super().__init__(f"the next page token {token!r} was already requested")
        self.token = token


class DialectPaginator:
    """Mixin shared by the dialect's paginators (put it before the SDK base)."""

    type_name: t.ClassVar[str]
    options: t.ClassVar[frozenset[str]] = frozenset()
    #: True when the next request does not depend on the previous response.
    predictable: t.ClassVar[bool] = False

    page: Page | None = None
    _seen: set

    def apply(self, request: HTTPRequest, token: t.Any) -> None:
        """Put ``token`` (the current page value) into the request."""

    # Predictable paginators (page_number, offset) also answer these, so that pages
    # can be requested ahead of the responses that would name them.
    def token_after(self, token: t.Any) -> t.Any:
        raise NotImplementedError

    def last_token(self) -> t.Any | None:
        """The last token that can hold records, when the pages seen so far tell it."""
        return None

    def advance(self, response: requests.Response) -> None:
        seen = self.__dict__.setdefault("_seen", set())
        seen.add(self._value)  # type: ignore[attr-defined]
        try:
            super().advance(response)  # type: ignore[misc]
        except RuntimeError:  # the SDK's guard against the same token twice in a row
            raise PaginationLoop(self._value) from None  # type: ignore[attr-defined]
        if not self.finished and self._value in seen:  # type: ignore[attr-defined]
            raise PaginationLoop(self._value)  # type: ignore[attr-defined]


def _number(value: t.Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class _RangeStopRules:
    """Stop rules shared by page_number and offset (dlt's RangePaginator, plus short pages)."""

    def _set_stop_rules(self, *, limit: int | None, total_path: t.Any, has_more_path: t.Any, stop_after_empty_page: bool) -> None:
        self.limit = limit
        self.total_path = JSONPath(total_path) if total_path else None
        self.has_more_path = JSONPath(has_more_path) if has_more_path else None
        self.stop_after_empty_page = stop_after_empty_page

    def _total(self) -> int | None:
        """The total the last page states (pages or items), if it states one."""
        return _number(self.total_path.first(self.page.body)) if self.total_path and self.page else None

    def _range_has_more(self, next_value: int, total_to_reach: t.Callable[[int], int], maximum: int | None) -> bool:
        page = self.page
        assert page is not None
        count = len(page.records)
        if self.stop_after_empty_page and count == 0:
            return False
        if self.limit is not None and count < self.limit:
            return False
        if self.has_more_path is not None and not self.has_more_path.first(page.body, default=True):
            return False
        total = self._total()
        if total is not None and next_value >= total_to_reach(total):
            return False
        return not (maximum is not None and next_value >= maximum)


class SinglePagePaginator(DialectPaginator, sdk.SinglePagePaginator):
    """One request, no paging.

    Sample response ``{"data": [{"id": 1}, {"id": 2}]}`` with config
    ``{"type": "single_page"}``: one request, two records.
    """

    type_name = "single_page"


class PageNumberPaginator(_RangeStopRules, DialectPaginator, sdk.PageNumberPaginator):
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
    options = frozenset({
        "page_param", "start_from_page", "base_page", "page", "limit", "limit_param",
        "total_path", "maximum_page", "has_more_path", "stop_after_empty_page",
    })
    predictable = True

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
        super().__init__(page if page is not None else self.base_page)
        self.page_param = page_param
        self.limit_param = limit_param
        self.maximum_page = maximum_page
        self._set_stop_rules(limit=limit, total_path=total_path, has_more_path=has_more_path, stop_after_empty_page=stop_after_empty_page)

    def has_more(self, response: requests.Response) -> bool:
        return self._range_has_more(
            self._value + 1,
            lambda total_pages: total_pages + self.base_page,
            self.maximum_page,
        )

    def apply(self, request: HTTPRequest, token: int) -> None:
        request.params[self.page_param] = token
        if self.limit_param and self.limit is not None:
            request.params[self.limit_param] = self.limit

    def token_after(self, token: int) -> int:
        return token + 1

    def last_token(self) -> int | None:
        bounds = [self.maximum_page - 1] if self.maximum_page is not None else []
        total = self._total()
        if total is not None:
            bounds.append(total + self.base_page - 1)
        return min(bounds) if bounds else None


class OffsetPaginator(_RangeStopRules, DialectPaginator, sdk.OffsetPaginator):
    """Sends ``offset_param`` and ``limit_param``; the offset grows by ``limit``.

    Sample response ``{"data": [...100 records...], "total": 250}`` with config
    ``{"type": "offset", "limit": 100}`` requests ``?offset=0&limit=100``,
    ``?offset=100&limit=100``, ``?offset=200&limit=100``.

    Stops after: an empty page; a page shorter than ``limit``; an offset reaching
    ``total`` (``total_path``, a count of items, default ``total`` when present);
    ``has_more_path`` false; an offset reaching ``maximum_offset``.
    """

    type_name = "offset"
    options = frozenset({
        "limit", "offset", "offset_param", "limit_param", "total_path",
        "maximum_offset", "has_more_path", "stop_after_empty_page",
    })
    predictable = True

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
        super().__init__(offset, limit)
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.maximum_offset = maximum_offset
        self._set_stop_rules(limit=limit, total_path=total_path, has_more_path=has_more_path, stop_after_empty_page=stop_after_empty_page)

    def has_more(self, response: requests.Response) -> bool:
        return self._range_has_more(self._value + self.limit, lambda total: total, self.maximum_offset)

    def apply(self, request: HTTPRequest, token: int) -> None:
        request.params[self.offset_param] = token
        request.params[self.limit_param] = self.limit

    def token_after(self, token: int) -> int:
        return token + self.limit

    def last_token(self) -> int | None:
        bounds = [self.maximum_offset - 1] if self.maximum_offset is not None else []
        total = self._total()
        if total is not None:
            bounds.append(total - 1)
        return min(bounds) if bounds else None


def _is_link(value: str) -> bool:
    return value.startswith("/") or urlsplit(value).scheme in ("http", "https")


class _NextReference(DialectPaginator):
    """Tokens are either a next URL (absolute or resolved against the last URL) or a cursor."""

    cursor_param: str | None = None

    #: json_link and header_link values are always URLs (maybe relative); a cursor may be a token.
    values_are_links: t.ClassVar[bool] = True

    def _reference(self, response: requests.Response, value: t.Any) -> t.Any:
        if value in (None, "", {}, []) or value is False:
            return None
        if isinstance(value, str) and (self.values_are_links or _is_link(value)):
            return urljoin(response.url, value)
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


class CursorPaginator(_NextReference, sdk.BaseAPIPaginator):
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
    options = frozenset({"cursor_path", "cursor_param", "cursor_value", "stop_condition"})

    def __init__(
        self,
        *,
        cursor_path: str | list | None = None,
        cursor_param: str | None = None,
        cursor_value: Template | None = None,
        stop_condition: Template | None = None,
        context: t.Mapping[str, t.Any] | None = None,
    ) -> None:
        super().__init__(None)
        if cursor_value is None and cursor_path is None:
            cursor_path = "cursors.next"
        self.cursor_path = JSONPath(cursor_path) if cursor_path else None
        self.cursor_param = cursor_param or "cursor"
        self.cursor_value = cursor_value
        self.stop_condition = stop_condition
        self.context = context or {}

    def _template_context(self) -> dict:
        page = self.page
        assert page is not None
        return {
            **self.context,
            "response": page.body,
            "headers": page.response.headers,
            "last_record": page.records[-1] if page.records else None,
        }

    def has_more(self, response: requests.Response) -> bool:
        if self.stop_condition is not None:
            return not self.stop_condition(self._template_context())
        return True

    def get_next(self, response: requests.Response) -> t.Any:
        if self.cursor_value is not None:
            value = self.cursor_value(self._template_context())
        else:
            value = self.cursor_path.first(self.page.body)  # type: ignore[union-attr]
        return self._reference(response, value)


class JSONLinkPaginator(_NextReference, sdk.BaseAPIPaginator):
    """Follows a next-page URL found in the body at ``next_url_path`` (default ``next``).

    ``{"data": [...], "links": {"next": "https://api.example.com/items?page=2"}}`` with
    ``{"type": "json_link", "next_url_path": "links.next"}``. Stops when it is absent or null.
    """

    type_name = "json_link"
    options = frozenset({"next_url_path"})

    def __init__(self, *, next_url_path: str | list = "next") -> None:
        super().__init__(None)
        self.next_url_path = JSONPath(next_url_path)

    def get_next(self, response: requests.Response) -> t.Any:
        return self._reference(response, self.next_url_path.first(self.page.body))  # type: ignore[union-attr]


class HeaderLinkPaginator(_NextReference, sdk.BaseAPIPaginator):
    """Follows the RFC 8288 ``Link`` header's ``rel="next"`` (``links_next_key``).

    ``Link: <https://api.example.com/items?page=2>; rel="next"`` with
    ``{"type": "header_link"}``. Stops when the response has no such link.
    """

    type_name = "header_link"
    options = frozenset({"links_next_key"})

    def __init__(self, *, links_next_key: str = "next") -> None:
        super().__init__(None)
        self.links_next_key = links_next_key

    def get_next(self, response: requests.Response) -> t.Any:
        return self._reference(response, response.links.get(self.links_next_key, {}).get("url"))


class AutoPaginator(_NextReference, sdk.BaseAPIPaginator):
    """dlt's default when no paginator is configured: follow a ``Link: rel="next"``
    header, else a URL under ``next`` in the body; otherwise the first page is the only one.
    """

    type_name = "auto"

    def __init__(self) -> None:
        super().__init__(None)

    def get_next(self, response: requests.Response) -> t.Any:
        link = response.links.get("next", {}).get("url")
        if link is None and isinstance(self.page.body, dict):  # type: ignore[union-attr]
            candidate = self.page.body.get("next")  # type: ignore[union-attr]
            link = candidate if isinstance(candidate, str) and _is_link(candidate) else None
        return self._reference(response, link)


PAGINATORS: dict[str, type[DialectPaginator]] = {
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
# dlt's older name for json_link.
PAGINATOR_ALIASES = {"json_response": "json_link"}
