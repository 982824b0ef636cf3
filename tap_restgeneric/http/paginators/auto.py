"""``auto``: no paginator configured. What dlt's detector looks for, in its order:

1. a ``Link: <…>; rel="next"`` header -> header_link;
2. a key starting with ``next`` (at any of the first three levels: ``next``, ``next_page``,
   ``links.next``, ``paging.next.href``) holding a URL or a path -> json_link;
3. a page count under ``total_pages``, ``pages`` or ``totalpages`` -> page_number
   (``?page=2`` … up to the count; the first, unparametrised request is page 1);
4. a ``next…`` key holding something else (a token) -> cursor, sent back as ``?cursor=…``;
5. none of these: one page.

``{"items": [...], "links": {"next": "/items?page=2"}}`` pages by the link; ``{"data": [...],
"total_pages": 3}`` by page number. The choice is logged once, with what was seen. A later page
that shows another kind (a ``Link`` header where page one had a body link) stops the stream
with an error saying what each page showed, rather than guessing: set ``paginator`` then.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urljoin, urlsplit

from typing_extensions import override

from tap_restgeneric.http.paginators.base import Page, PaginatorRefused
from tap_restgeneric.http.paginators.links import _NextReference

if t.TYPE_CHECKING:
    from singer_sdk.streams.rest import HTTPRequest

PAGE_COUNT_KEYS = ("total_pages", "pages", "totalpages")
_DEPTH = 3


def _is_link(value: t.Any) -> bool:
    return isinstance(value, str) and (value.startswith("/") or urlsplit(value).scheme in ("http", "https"))


def _walk(body: t.Any, prefix: str = "", depth: int = _DEPTH) -> t.Iterator[tuple[str, str, t.Any]]:
    """(dotted path, last key, value) of a body's entries, breadth first, ``depth`` levels down."""
    if not isinstance(body, dict) or depth == 0:
        return
    nested = []
    for key, value in body.items():
        path = f"{prefix}{key}"
        yield path, str(key).lower(), value
        if isinstance(value, dict):
            nested.append((value, f"{path}."))
    for value, path in nested:
        yield from _walk(value, path, depth - 1)


def detect(page: Page) -> tuple[str, str, t.Any] | None:
    """(paginator kind, what was seen, the next token) from one page, or None."""
    link = page.response.links.get("next", {}).get("url")
    if link:
        return "header_link", 'a Link rel="next" header', link
    entries = list(_walk(page.body))
    for path, key, value in entries:
        if key.startswith("next"):
            target = value.get("href") or value.get("url") if isinstance(value, dict) else value
            if _is_link(target):
                return "json_link", f"a next URL at {path}", target
    for path, key, value in entries:
        if key in PAGE_COUNT_KEYS and isinstance(value, (int, str)) and str(value).isdigit():
            return "page_number", f"a page count at {path}", int(value)
    for path, key, value in entries:
        if key.startswith("next") and isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
            return "cursor", f"a cursor at {path}", value
    return None


class AutoPaginator(_NextReference):
    """dlt's paginator detection (see the module docstring); ``log`` reports the choice."""

    type_name = "auto"
    no_next = "no next page indicated"

    values_are_links = False

    def __init__(self, *, stop_after_empty_page: bool = True, log: t.Callable[[str], None] | None = None) -> None:
        super().__init__(stop_after_empty_page=stop_after_empty_page)
        self.log = log
        self.kind: str | None = None
        self.seen = ""
        self.pages = 1
        self.page_count: int | None = None

    @override
    def next_value(self, page: Page) -> t.Any:
        found = detect(page)
        if found is None:
            if self.kind == "page_number" and self.page_count is not None and self.pages < self.page_count:
                found = ("page_number", self.seen, self.page_count)
            else:
                return None
        kind, seen, value = found
        if self.kind is None:
            self.kind, self.seen = kind, seen
            if self.log is not None:
                self.log(f"paginator auto: {kind}, from {seen} in the first response (set paginator to choose another)")
        elif kind != self.kind:
            raise PaginatorRefused(
                f"paginator auto chose {self.kind} from {self.seen} in the first response, but response {self.pages} "
                f"shows {seen} ({kind}); set endpoint.paginator instead of guessing"
            )
        self.pages += 1
        if kind == "page_number":
            self.page_count = value
            return self.pages if self.pages <= value else None
        if kind in ("header_link", "json_link"):
            return urljoin(page.response.url, value)
        return value

    @override
    def apply(self, request: HTTPRequest, token: t.Any) -> None:
        if self.kind == "page_number" and token is not None:
            request.params["page"] = token
        else:  # a link is followed, a cursor sent back as ?cursor=
            super().apply(request, token)
