"""The paginator protocol: the ``Paginator`` base, deciding from the ``Page`` just read.

``update(page)`` is the one decision (the package docstring says why it is not the SDK's
``advance(response)``): the empty-page rule, then the subclass's ``stop_rule(page)``, then
``next_value(page)`` under the loop guard, recording ``stop_reason`` when paging ends.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.streams.rest import HTTPRequest

    from tap_restgeneric.paging.page import Page


class PaginatorRefused(Exception):
    """A paginator cannot tell the next request without guessing (the message says why)."""


class PaginationLoop(Exception):
    def __init__(self, token: t.Any) -> None:
        super().__init__(f"the next page token {token!r} was already requested")
        self.token = token


class Paginator:
    """Base of the dialect's paginators."""

    type_name: t.ClassVar[str]
    #: True when the next request does not depend on the previous response (page_number, offset).
    predictable: t.ClassVar[bool] = False

    #: Why paging stops when there is no next token.
    no_next: t.ClassVar[str] = "no next page"

    def __init__(self, first: t.Any, *, stop_after_empty_page: bool = True) -> None:
        self.current_value = first
        self.finished = False
        self.stop_after_empty_page = stop_after_empty_page
        #: The rule that ended paging, once it has ended ("empty page", "short page (…)", …).
        self.stop_reason: str | None = None
        self._requested = {_key(first)}

    def update(self, page: Page) -> None:
        """Decide the request after ``page``: the next token, or finished (and why)."""
        if page.ignored:
            self.stop_reason, self.finished = "a response action said ignore", True
            return
        reason = "empty page" if self.stop_after_empty_page and not page.records else self.stop_rule(page)
        if reason is None:
            following = self.next_value(page)
            if following is not None:
                key = _key(following)
                if key in self._requested:
                    raise PaginationLoop(following)
                self._requested.add(key)
                self.current_value = following
                return
            reason = self.no_next
        self.stop_reason = reason
        self.finished = True

    def stop_rule(self, page: Page) -> str | None:  # noqa: ARG002 - the stop rules of most paginators read the page
        """Why paging stops after ``page``, or None to go on (the empty-page rule is the base's)."""
        return None

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

    def total_mismatch(self, page: Page, pages_read: int, records_read: int) -> str | None:  # noqa: ARG002
        """When paging has ended: how the total the API stated differs from what was read (None: it does not)."""
        return None


def is_link(value: str) -> bool:
    """Whether a next-page value is a URL (absolute, or a path on the API's host), not a cursor token."""
    return value.startswith("/") or urlsplit(value).scheme in ("http", "https")


def says_no_more(value: t.Any) -> bool:
    """A ``has_more_path`` value that ends paging, for every paginator that reads one: false,
    0, null, or a string reading false, 0, no or nothing (APIs send ``"false"`` too)."""
    if isinstance(value, str):
        return value.strip().lower() in ("false", "0", "no", "")
    return not value


def _key(token: t.Any) -> t.Hashable:
    try:
        hash(token)
    except TypeError:
        return repr(token)
    return t.cast("t.Hashable", token)


class SinglePagePaginator(Paginator):
    """One request, no paging.

    Sample response ``{"data": [{"id": 1}, {"id": 2}]}`` with config
    ``{"type": "single_page"}``: one request, two records.
    """

    type_name = "single_page"

    def __init__(self) -> None:
        super().__init__(None)

    @override
    def stop_rule(self, page: Page) -> str | None:
        return "single page"


def put_token(request: HTTPRequest, param: str, body_path: str | None, value: t.Any) -> None:
    """A paging value into the request: as query parameter ``param``, or, for dlt's
    ``*_body_path`` (pagination in a POST body), at that dotted path of the JSON body."""
    if not body_path:
        request.params[param] = value
        return
    body = dict(request.data) if isinstance(request.data, dict) else {}  # the config's body is shared by every page
    request.data = body
    *parents, last = body_path.split(".")
    node = body
    for key in parents:
        child = node.get(key)
        node[key] = child = dict(child) if isinstance(child, dict) else {}
        node = child
    node[last] = value
