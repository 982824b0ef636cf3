"""Each paginator's decisions on in-memory pages: no server, no tap (the requests a real server saw are
``test_paginators.py``'s)."""

from __future__ import annotations

import json

import pytest
import requests

from tap_restgeneric.paging.page import Page
from tap_restgeneric.paging.paginators import PAGINATORS, PaginationLoop, PaginatorRefused
from tap_restgeneric.paging.paginators.auto import AutoPaginator
from tap_restgeneric.paging.request_builder import BodyRequest

URL = "https://api.example.com/v1/items"


def page(body: object, *, records: list | None = None, url: str = URL, headers: dict | None = None) -> Page:
    """A page as the reader makes it, from a response that never went on the wire."""
    response = requests.Response()
    response.status_code = 200
    response.url = url
    response.headers.update(headers or {})
    response._content = json.dumps(body).encode()
    if records is None:
        records = body if isinstance(body, list) else next((v for v in body.values() if isinstance(v, list)), [])  # type: ignore[union-attr]
    return Page(response, body, records)


def request() -> BodyRequest:
    return BodyRequest(url=URL, method="GET", params={"q": "x"}, headers={}, data=None)


def test_page_number_stops_on_a_short_page_and_counts_from_its_first_page():
    paginator = PAGINATORS["page_number"](limit=2, total_path=None)
    assert paginator.current_value == 1
    paginator.update(page({"items": [{"id": 1}, {"id": 2}]}))
    assert (paginator.finished, paginator.current_value) == (False, 2)
    paginator.update(page({"items": [{"id": 3}]}))
    assert paginator.finished
    assert paginator.stop_reason == "short page (1 records, limit 2)"


def test_page_number_stops_at_the_stated_total_and_says_a_mismatch():
    paginator = PAGINATORS["page_number"](total_path="meta.pages")
    first = page({"items": [{"id": 1}], "meta": {"pages": 2}})
    paginator.update(first)
    second = page({"items": [{"id": 2}], "meta": {"pages": 2}})
    paginator.update(second)
    assert paginator.stop_reason == "total reached (meta.pages: 2)"
    assert paginator.total_mismatch(second, pages_read=2, records_read=2) is None
    assert (
        paginator.total_mismatch(second, pages_read=3, records_read=3) == "the API stated 2 pages (meta.pages: 2) but 3 were read"
    )


def test_offset_puts_offset_and_limit_in_the_request_and_in_a_body_path():
    paginator = PAGINATORS["offset"](limit=50)
    built = request()
    paginator.apply(built, 100)
    assert built.params == {"q": "x", "offset": 100, "limit": 50}
    in_body = PAGINATORS["offset"](limit=50, offset_body_path="paging.offset", limit_body_path="paging.limit")
    posted = request()
    in_body.apply(posted, 100)
    assert posted.data == {"paging": {"offset": 100, "limit": 50}}


def test_offset_asks_for_pages_ahead_up_to_the_stated_total():
    paginator = PAGINATORS["offset"](limit=10)
    assert paginator.predictable
    first = page({"data": [{"id": i} for i in range(10)], "total": 35})
    assert paginator.last_value(first) == 34
    assert [paginator.value_after(v) for v in (0, 10, 20)] == [10, 20, 30]


def test_json_link_follows_a_relative_link_and_stops_without_one():
    paginator = PAGINATORS["json_link"](next_url_path="links.next")
    paginator.update(page({"data": [{"id": 1}], "links": {"next": "/v1/items?page=2"}}))
    assert paginator.current_value == "https://api.example.com/v1/items?page=2"
    built = request()
    paginator.apply(built, paginator.current_value)
    assert (built.url, built.params) == ("https://api.example.com/v1/items?page=2", {})
    paginator.update(page({"data": [{"id": 2}], "links": {"next": None}}))
    assert (paginator.finished, paginator.stop_reason) == (True, "no next URL")


def test_header_link_reads_the_link_header():
    paginator = PAGINATORS["header_link"]()
    paginator.update(page([{"id": 1}], headers={"Link": '<https://api.example.com/v1/items?page=2>; rel="next"'}))
    assert paginator.current_value == "https://api.example.com/v1/items?page=2"
    paginator.update(page([{"id": 2}]))
    assert paginator.stop_reason == "no Link rel=next header"


def test_cursor_sends_its_cursor_back_and_refuses_a_repeated_one():
    paginator = PAGINATORS["cursor"](cursor_path="cursors.next", cursor_param="after")
    paginator.update(page({"data": [{"id": 1}], "cursors": {"next": "abc"}}))
    built = request()
    paginator.apply(built, paginator.current_value)
    assert built.params == {"q": "x", "after": "abc"}
    paginator.update(page({"data": [{"id": 2}], "cursors": {"next": "def"}}))
    with pytest.raises(PaginationLoop, match="'abc' was already requested"):
        paginator.update(page({"data": [{"id": 3}], "cursors": {"next": "abc"}}))


def test_an_empty_page_ends_paging_unless_told_otherwise():
    paginator = PAGINATORS["cursor"]()
    paginator.update(page({"data": [], "cursors": {"next": "abc"}}))
    assert paginator.stop_reason == "empty page"
    going_on = PAGINATORS["cursor"](stop_after_empty_page=False)
    going_on.update(page({"data": [], "cursors": {"next": "abc"}}))
    assert not going_on.finished


def test_auto_chooses_from_the_first_page_and_refuses_to_skip():
    said: list[str] = []
    paginator = AutoPaginator(log=said.append)
    paginator.update(page({"data": [{"id": 1}], "next": "/v1/items?page=2", "total_pages": 3}))
    assert paginator.kind == "json_link"
    assert said == ["paginator auto: json_link, from a next URL at next in the first response (set paginator to choose another)"]
    with pytest.raises(PaginatorRefused, match="a page count of 3 at total_pages, and 2 pages were read"):
        paginator.update(page({"data": [{"id": 2}], "next": None, "total_pages": 3}))


def test_single_page_is_one_request():
    paginator = PAGINATORS["single_page"]()
    paginator.update(page([{"id": 1}]))
    assert (paginator.finished, paginator.stop_reason) == (True, "single page")
