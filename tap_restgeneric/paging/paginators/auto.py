"""``auto``: no paginator configured. As dlt's detector, it chooses once, from the first response,
in dlt's order, and then the chosen paginator pages by its own stop rules:

1. a ``Link: <…>; rel="next"`` header -> ``header_link``;
2. the first key starting with ``next`` (depth first, at any level: ``next``, ``next_page``,
   ``links.next``, ``_links.next.href``) holding a URL or a ``/path`` -> ``json_link`` at that path;
3. a page count under ``total_pages``, ``pages`` or ``totalpages`` -> ``page_number`` with that
   ``total_path`` (``?page=2`` … up to the count; the first, unparametrised request is page 1);
4. a ``next…`` key holding anything else (a token, a number) -> ``cursor`` at that path, sent
   back as ``?cursor=…``;
5. none of these: one page.

``{"items": [...], "links": {"next": "/items?page=2"}}`` pages by the link, and its last page, with
no next link, ends paging; ``{"data": [...], "total_pages": 3}`` pages by page number. The choice is
logged once, with what was seen.

A request with a body (POST and the like) is paged in its body by most APIs, where a guess cannot
put a page number or a cursor: there auto follows links only, and a page count or a cursor alone
gives one page, with a warning to set ``endpoint.paginator`` (``page_body_path``, ``cursor_body_path``).

Auto refuses, with what it saw, where stopping would silently skip data: when the chosen link or
cursor runs out on a page that still shows another way to the next page (a ``Link`` rel=next header
where the body link was chosen, or a body next URL where the header was chosen), or that states a
page count beyond the pages read. Loops are the loop guards' (a token requested twice, a page
repeating the page before).
"""

from __future__ import annotations

import typing as t

from typing_extensions import override

from tap_restgeneric.paging.paginators.base import Paginator, PaginatorRefused, SinglePagePaginator, is_link
from tap_restgeneric.paging.paginators.links import CursorPaginator, HeaderLinkPaginator, JSONLinkPaginator
from tap_restgeneric.paging.paginators.ranges import PageNumberPaginator
from tap_restgeneric.values import number

if t.TYPE_CHECKING:
    from singer_sdk.streams.rest import HTTPRequest

    from tap_restgeneric.paging.page import Page

PAGE_COUNT_KEYS = ("total_pages", "pages", "totalpages")
_LINK_KEYS = ("href", "url")
#: Methods whose request carries no body: auto may page them by a query parameter.
_BODYLESS_METHODS = ("GET", "HEAD", "DELETE", "OPTIONS")

Path = tuple[str, ...]


def _next_reference(body: t.Any, path: Path = ()) -> tuple[Path, t.Any] | None:
    """(path, value) of the first key starting with ``next`` holding a scalar, or an object with an
    ``href``/``url`` scalar, depth first (dlt's order)."""
    if not isinstance(body, dict):
        return None
    for key, value in body.items():
        if str(key).lower().startswith("next"):
            if isinstance(value, dict):
                for inner, target in value.items():
                    if str(inner).lower() in _LINK_KEYS and _scalar(target):
                        return (*path, key, inner), target
            elif _scalar(value):
                return (*path, key), value
        if isinstance(value, dict) and (found := _next_reference(value, (*path, key))):
            return found
    return None


def _page_count(body: t.Any, path: Path = ()) -> tuple[Path, t.Any] | None:
    """(path, value) of the first page-count key, depth first."""
    if not isinstance(body, dict):
        return None
    for key, value in body.items():
        if str(key).lower() in PAGE_COUNT_KEYS and _scalar(value):
            return (*path, key), value
        if isinstance(value, dict) and (found := _page_count(value, (*path, key))):
            return found
    return None


def _scalar(value: t.Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


class AutoPaginator(Paginator):
    """dlt's paginator detection (see the module docstring); ``log`` reports the choice and ``method``
    is the request's, which decides whether a query parameter can page it."""

    type_name = "auto"

    def __init__(
        self,
        *,
        stop_after_empty_page: bool = True,
        log: t.Callable[[str], None] | None = None,
        method: str = "GET",
    ) -> None:
        super().__init__(None, stop_after_empty_page=stop_after_empty_page)
        self.log = log or (lambda message: None)
        self.method = method.upper()
        self.chosen: Paginator | None = None
        self.seen = ""
        self.count_path: Path | None = None
        self.pages = 0

    @property
    def kind(self) -> str | None:
        return self.chosen.type_name if self.chosen is not None else None

    def _choose(self, page: Page) -> Paginator:
        empty_stops = self.stop_after_empty_page
        counted = _page_count(page.body)
        self.count_path = counted[0] if counted else None
        reference = _next_reference(page.body)
        chosen: Paginator
        if page.response.links.get("next", {}).get("url"):
            chosen, self.seen = HeaderLinkPaginator(stop_after_empty_page=empty_stops), 'a Link rel="next" header'
        elif reference and isinstance(reference[1], str) and is_link(reference[1]):
            chosen, self.seen = (
                JSONLinkPaginator(next_url_path=list(reference[0]), stop_after_empty_page=empty_stops),
                f"a next URL at {_dotted(reference[0])}",
            )
        elif counted and number(counted[1]) is not None:
            chosen, self.seen = (
                PageNumberPaginator(total_path=list(counted[0]), page=1, stop_after_empty_page=empty_stops),
                f"a page count at {_dotted(counted[0])}",
            )
        elif reference:
            chosen, self.seen = (
                CursorPaginator(cursor_path=list(reference[0]), stop_after_empty_page=empty_stops),
                f"a cursor at {_dotted(reference[0])}",
            )
        else:
            return SinglePagePaginator()
        if chosen.type_name in ("page_number", "cursor") and self.method not in _BODYLESS_METHODS:
            body_path = "page_body_path" if chosen.type_name == "page_number" else "cursor_body_path"
            self.log(
                f"paginator auto: one page: the first response shows {self.seen}, but a {self.method} request is paged "
                f"in its body, where auto cannot tell the key (set endpoint.paginator, e.g. {{type: {chosen.type_name}, "
                f"{body_path}: …}})"
            )
            return SinglePagePaginator()
        self.log(f"paginator auto: {chosen.type_name}, from {self.seen} in the first response (set paginator to choose another)")
        return chosen

    @override
    def update(self, page: Page) -> None:
        self.pages += 1
        if self.chosen is None:
            self.chosen = self._choose(page)
        chosen = self.chosen
        chosen.update(page)
        self.current_value, self.finished, self.stop_reason = chosen.current_value, chosen.finished, chosen.stop_reason
        if self.finished and chosen.stop_reason == chosen.no_next:
            self._refuse_if_skipping(page)

    def _refuse_if_skipping(self, page: Page) -> None:
        """The chosen link or cursor ran out: refuse if the page shows more to read."""
        kind = self.kind
        other = None
        if kind in ("json_link", "cursor") and page.response.links.get("next", {}).get("url"):
            other = 'a Link rel="next" header'
        elif kind == "header_link" and (found := _next_reference(page.body)) and isinstance(found[1], str) and is_link(found[1]):
            other = f"a next URL at {_dotted(found[0])}"
        elif kind != "page_number" and self.count_path is not None:
            count = number(_at(page.body, self.count_path))
            if count is not None and count > self.pages:
                other = f"a page count of {count} at {_dotted(self.count_path)}, and {self.pages} pages were read"
        if other:
            raise PaginatorRefused(
                f"paginator auto chose {kind} from {self.seen} in the first response, but response {self.pages} has none "
                f"and shows {other}; set endpoint.paginator instead of guessing"
            )

    @override
    def apply(self, request: HTTPRequest, token: t.Any) -> None:
        if self.chosen is not None:
            self.chosen.apply(request, token)


def _dotted(path: Path) -> str:
    return ".".join(path)


def _at(body: t.Any, path: Path) -> t.Any:
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body
