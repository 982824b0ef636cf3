"""Data selectors and request building, on values in memory: no server, no tap."""

from __future__ import annotations

import pytest

from tap_restgeneric.paging.paginators import PAGINATORS
from tap_restgeneric.paging.request_builder import PageToken, RequestBuilder
from tap_restgeneric.paging.selectors import JSONPath, RecordSelector, SelectorMismatch
from tap_restgeneric.templates import compile_tree


def test_a_selector_finds_records_by_key_dotted_path_list_or_jsonpath():
    body = {"data": {"users": [{"id": 1}, {"id": 2}]}}
    assert RecordSelector("data.users").select_records(body) == [{"id": 1}, {"id": 2}]
    assert RecordSelector(["data", "users"]).select_records(body) == [{"id": 1}, {"id": 2}]
    assert RecordSelector("$.data.users[*]").select_records(body) == [{"id": 1}, {"id": 2}]
    assert RecordSelector("$.data.users[*]").select_records({"data": {"users": []}}) == []
    with pytest.raises(SelectorMismatch, match="data_selector 'items' matched nothing"):
        RecordSelector("items").select_records(body)


def test_without_a_selector_records_are_found_as_dlt_finds_them():
    selector = RecordSelector(None)
    assert selector.automatic
    assert selector.select_records({"results": [{"id": 1}], "count": 1}) == [{"id": 1}]
    assert selector.select_records({"id": 7}) == [{"id": 7}]  # an object without a list: one record
    assert JSONPath("a.0.b").first({"a": [{"b": 3}]}) == 3


def endpoint(**written) -> dict:
    base = {"path": "items", "method": "GET", "paginator": {"type": "page_number"}}
    return {**base, **compile_tree(written, "resources[0].endpoint", {"secrets", "config", "incremental", "resources"})}


def test_a_request_holds_the_params_the_incremental_start_and_the_page_token():
    builder = RequestBuilder(
        endpoint(
            params={"state": "open", "owner": "{{ secrets.owner }}", "skip": None},
            incremental={"cursor_path": "updated_at", "start_param": "since", "end_value": "2025-01-01"},
            headers={"X-Region": "{{ config.region }}"},
        ),
        "https://api.example.com/v1",
        {"Accept": "application/json"},
        {"owner": "octo"},
        {"region": "eu"},
    )
    paginator = PAGINATORS["page_number"]()
    built = builder.build(PageToken(3, "2024-06-01", paginator))
    assert built.url == "https://api.example.com/v1/items"
    assert built.params == {"state": "open", "owner": "octo", "since": "2024-06-01", "page": 3}
    assert built.headers == {"Accept": "application/json", "X-Region": "eu"}
    assert builder.secret_params == {"owner"}


def test_a_child_request_reads_its_parent_record():
    builder = RequestBuilder(
        endpoint(path="issues/{{ resources.issues.number }}/comments"), "https://api.example.com", {}, {}, {}
    )
    built = builder.build(PageToken(1, None, PAGINATORS["page_number"](), {"issues": {"number": 42}}))
    assert built.url == "https://api.example.com/issues/42/comments"
