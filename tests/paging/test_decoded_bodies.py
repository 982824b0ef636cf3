"""Bodies that are not JSON, through the tap and its CLI: CSV, JSON Lines, XML, and gzip or zip payloads wrapping them,
with paginators, selectors and max_response_mb still in force; a body that does not decode is one line."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pytest
from werkzeug import Request, Response

from tests.support import CANARY, run_cli, sync

STRINGS = {"properties": {"id": {"type": "string"}, "name": {"type": "string"}}}


def source(httpserver, decoder: dict, paginator: object, schema: dict = STRINGS, **endpoint: object) -> dict:
    return {
        "secrets": {"key": CANARY},
        "source": {
            "client": {"base_url": httpserver.url_for("/api"), "auth": {"type": "bearer", "token": "{{ secrets.key }}"}},
            "resources": [
                {
                    "name": "items",
                    "schema": schema,
                    "endpoint": {"path": "items", "decoder": decoder, "paginator": paginator, **endpoint},
                }
            ],
        },
    }


def pages_seen(httpserver) -> list[str]:
    return [request.query_string.decode() for request, _ in httpserver.log]


PAGE_NUMBER = {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": None}


def test_csv_pages_with_a_page_number_paginator_a_delimiter_and_an_encoding(httpserver):
    rows = {1: "1;Zoë\n2;Åsa\n", 2: "3;Noé\n", 3: ""}

    def csv_pages(request: Request) -> Response:
        body = "id;name\n" + rows[int(request.args["page"])]
        return Response(body.encode("latin-1"), 200, content_type="text/csv")

    httpserver.expect_request("/api/items").respond_with_handler(csv_pages)
    out = sync(source(httpserver, {"type": "csv", "delimiter": ";", "encoding": "latin-1"}, PAGE_NUMBER))
    assert out.records("items") == [{"id": "1", "name": "Zoë"}, {"id": "2", "name": "Åsa"}, {"id": "3", "name": "Noé"}]
    assert pages_seen(httpserver) == ["page=1", "page=2", "page=3"]


def test_csv_without_a_header_row_in_a_gzip_payload(httpserver):
    """gzip whatever the Content-Encoding (none here: the payload itself is a .csv.gz)."""
    body = gzip.compress(b"1,first\n2,second\n")
    httpserver.expect_request("/api/items").respond_with_data(body, content_type="application/gzip")
    decoder = {"type": "csv", "header": False, "field_names": ["id", "name"], "compression": "gzip"}
    out = sync(source(httpserver, decoder, "single_page"))
    assert out.records("items") == [{"id": "1", "name": "first"}, {"id": "2", "name": "second"}]


def test_json_lines_with_a_header_link_paginator(httpserver):
    def jsonl(request: Request) -> Response:
        page = int(request.args.get("page", 1))
        lines = "\n".join(json.dumps({"id": str(2 * page + i), "name": f"n{page}"}) for i in (0, 1))
        headers = {"Link": f'<{request.base_url}?page={page + 1}>; rel="next"'} if page < 2 else {}
        return Response(lines + "\n", 200, content_type="application/jsonl", headers=headers)

    httpserver.expect_request("/api/items").respond_with_handler(jsonl)
    out = sync(source(httpserver, {"type": "jsonl"}, "header_link"))
    assert out.ids("items") == ["2", "3", "4", "5"]
    assert pages_seen(httpserver) == ["", "page=2"]


def test_a_zip_of_json_lines_files_read_in_order(httpserver):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as files:
        files.writestr("b/", "")  # a directory entry: skipped
        files.writestr("b/one.jsonl", '{"id": "1", "name": "a"}\n')
        files.writestr("b/two.jsonl", '{"id": "2", "name": "b"}\n{"id": "3", "name": "c"}\n')
    httpserver.expect_request("/api/items").respond_with_data(archive.getvalue(), content_type="application/zip")
    out = sync(source(httpserver, {"type": "jsonl", "compression": "zip"}, "single_page"))
    assert out.ids("items") == ["1", "2", "3"]


XML_PAGES = {
    1: '<catalog><next>{next}</next><item id="1"><name>a</name></item><item id="2"><name>b</name><tag>x</tag><tag>y</tag></item></catalog>',
    2: '<catalog><item id="3"><name lang="en">c</name></item></catalog>',
}


def test_xml_as_airbyte_maps_it_one_child_a_value_repeated_children_a_list(httpserver):
    def xml(request: Request) -> Response:
        page = int(request.args.get("page", 1))
        body = XML_PAGES[page].format(next=f"{request.base_url}?page=2")
        return Response(body, 200, content_type="application/xml")

    httpserver.expect_request("/api/items").respond_with_handler(xml)
    paginator = {"type": "json_link", "next_url_path": "catalog.next"}
    out = sync(source(httpserver, {"type": "xml"}, paginator, schema={"properties": {}}, data_selector="catalog.item"))
    assert out.records("items") == [
        {"@id": "1", "name": "a"},
        {"@id": "2", "name": "b", "tag": ["x", "y"]},
        {"@id": "3", "name": {"@lang": "en", "#text": "c"}},  # a page of one item: the item itself, as one record
    ]


@pytest.mark.parametrize(
    ("decoder", "body", "problem"),
    [
        ({"type": "xml"}, b"<catalog><item>", "xml decoder: not well-formed XML (no element found: line 1, column 15)"),
        ({"type": "jsonl"}, b'{"id": "1"}\nnot json\n', "jsonl decoder: line 2 is not JSON"),
        ({"type": "csv", "compression": "gzip"}, b"\x1f\x8b\x08\x00broken", "gzip > csv decoder: the gzip payload is cut short"),
    ],
)
def test_a_body_that_does_not_decode_is_one_line_naming_stream_decoder_and_url(httpserver, tmp_path, decoder, body, problem):
    httpserver.expect_request("/api/items").respond_with_data(body, content_type="application/octet-stream")
    out = run_cli([], source(httpserver, decoder, "single_page"), tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        f"tap-restgeneric: error: stream 'items': response could not be read by the {problem} "
        f"(HTTP 200) from {httpserver.url_for('/api/items')}"
    )
    assert len(httpserver.log) == 1  # not retried: the same bytes would come again


def test_a_payload_that_expands_past_max_response_mb_stops_the_stream(httpserver, tmp_path):
    bomb = gzip.compress(b"id\n" + b"1\n" * (3 * 1024 * 1024))
    httpserver.expect_request("/api/items").respond_with_data(bomb, content_type="application/gzip")
    cfg = {**source(httpserver, {"type": "csv", "compression": "gzip"}, "single_page"), "max_response_mb": 1}
    out = run_cli([], cfg, tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        "tap-restgeneric: error: stream 'items': response could not be read by the gzip > csv decoder: more than "
        f"1,048,576 bytes once decompressed (the max_response_mb setting); stopped reading (HTTP 200) from "
        f"{httpserver.url_for('/api/items')}"
    )


def test_an_unknown_decoder_option_is_a_config_error_with_its_path(httpserver, tmp_path):
    out = run_cli([], source(httpserver, {"type": "csv", "delimeter": ";"}, "single_page"), tmp_path)
    assert out.returncode == 1
    assert (
        out.stderr.strip()
        .splitlines()[-1]
        .startswith("tap-restgeneric: config error: resources[0].endpoint.decoder.delimeter: unknown key (valid keys: ")
    )
    assert not httpserver.log
