"""cursor, json_link, header_link and header_cursor: the next request is named by the response,
as a link (absolute or relative URL) or as a cursor sent back in a query parameter."""

from __future__ import annotations

import typing as t
from urllib.parse import urljoin

from typing_extensions import override

from tap_restgeneric.paging.paginators.base import Paginator, is_link, put_token, says_no_more
from tap_restgeneric.paging.selectors import JSONPath

if t.TYPE_CHECKING:
    from singer_sdk.streams.rest import HTTPRequest

    from tap_restgeneric.paging.page import Page
    from tap_restgeneric.templates import Template


class _NextReference(Paginator):
    """Tokens are either a next URL (absolute or resolved against the last URL) or a cursor."""

    cursor_param: str | None = None
    cursor_body_path: str | None = None

    #: json_link and header_link values are always URLs (maybe relative); a cursor may be a token.
    values_are_links: t.ClassVar[bool] = True

    def __init__(self, *, stop_after_empty_page: bool = True) -> None:
        super().__init__(None, stop_after_empty_page=stop_after_empty_page)

    def _reference(self, page: Page, value: t.Any) -> t.Any:
        if value in (None, "", {}, []) or value is False:
            return None
        if isinstance(value, str) and (self.values_are_links or is_link(value)):
            return urljoin(page.response.url, value)
        return value

    @override
    def apply(self, request: HTTPRequest, token: t.Any) -> None:
        if token is None:
            return
        if isinstance(token, str) and is_link(token):
            # The link carries the query of the next page; the config's params were for page one.
            request.url = token
            request.params = {}
        else:
            put_token(request, self.cursor_param or "cursor", self.cursor_body_path, token)


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
    no_next = "no cursor"

    def __init__(
        self,
        *,
        cursor_path: str | list | None = None,
        cursor_param: str | None = None,
        cursor_value: Template | None = None,
        stop_condition: Template | None = None,
        context: t.Mapping[str, t.Any] | None = None,
        has_more_path: str | list | None = None,
        cursor_body_path: str | None = None,
        stop_after_empty_page: bool = True,
        parsed_link_header: bool = False,
    ) -> None:
        super().__init__(stop_after_empty_page=stop_after_empty_page)
        #: True: ``headers['link']`` in the templates is the parsed Link header (``headers['link']['next']['url']``),
        #: as Airbyte's CursorPagination gives it.
        self.parsed_link_header = parsed_link_header
        self.has_more_path = JSONPath(has_more_path) if has_more_path else None
        self.cursor_body_path = cursor_body_path
        if cursor_value is None and cursor_path is None:
            cursor_path = "cursors.next"
        self.cursor_path = JSONPath(cursor_path) if cursor_path else None
        self.cursor_param = cursor_param or "cursor"
        self.cursor_value = cursor_value
        self.stop_condition = stop_condition
        self.context = context or {}

    def _template_context(self, page: Page) -> dict:
        headers: t.Any = page.response.headers
        if self.parsed_link_header:
            headers = {**headers, "link": page.response.links}
        return {
            **self.context,
            "response": page.body,
            "headers": headers,
            "last_record": page.records[-1] if page.records else None,
            "last_page_size": len(page.records),
        }

    @override
    def stop_rule(self, page: Page) -> str | None:
        if self.stop_condition is not None and self.stop_condition(self._template_context(page)):
            return "stop_condition is true"
        if self.has_more_path is not None and says_no_more(self.has_more_path.first(page.body, default=True)):
            return f"{self.has_more_path.spec} is false"
        return None

    @override
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
    no_next = "no next URL"

    def __init__(self, *, next_url_path: str | list = "next", stop_after_empty_page: bool = True) -> None:
        super().__init__(stop_after_empty_page=stop_after_empty_page)
        self.next_url_path = JSONPath(next_url_path)

    @override
    def next_value(self, page: Page) -> t.Any:
        return self._reference(page, self.next_url_path.first(page.body))


class HeaderLinkPaginator(_NextReference):
    """Follows the RFC 8288 ``Link`` header's ``rel="next"`` (``links_next_key``).

    ``Link: <https://api.example.com/items?page=2>; rel="next"`` with
    ``{"type": "header_link"}``. Stops when the response has no such link.
    """

    type_name = "header_link"
    no_next = "no Link rel=next header"

    def __init__(self, *, links_next_key: str = "next", stop_after_empty_page: bool = True) -> None:
        super().__init__(stop_after_empty_page=stop_after_empty_page)
        self.links_next_key = links_next_key

    @override
    def next_value(self, page: Page) -> t.Any:
        return self._reference(page, page.response.links.get(self.links_next_key, {}).get("url"))


class HeaderCursorPaginator(_NextReference):
    """A cursor in a response header (``cursor_key``, default ``next``), sent back as ``cursor_param``.

    ``X-Next-Cursor: abc`` with ``{"type": "header_cursor", "cursor_key": "X-Next-Cursor",
    "cursor_param": "after"}`` requests ``?after=abc``. Stops when the header is absent.
    """

    type_name = "header_cursor"
    values_are_links = False
    no_next = "no cursor header"

    def __init__(self, *, cursor_key: str = "next", cursor_param: str = "cursor", stop_after_empty_page: bool = True) -> None:
        super().__init__(stop_after_empty_page=stop_after_empty_page)
        self.cursor_key = cursor_key
        self.cursor_param = cursor_param

    @override
    def next_value(self, page: Page) -> t.Any:
        return self._reference(page, page.response.headers.get(self.cursor_key))
