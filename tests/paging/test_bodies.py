"""Bodies that are not data never pass for data: unreadable ones are retried then fail; error reports fail."""

from __future__ import annotations

import gzip
import json

import msgspec
import pytest
import requests
from werkzeug import Response

from tap_restgeneric.errors import StreamError
from tap_restgeneric.paging.reader import ResponseReader, UnreadableBody
from tests.support import last_line, run_cli, sync

SCHEMA = {"properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}}


def config(httpserver, **endpoint) -> dict:
    return {
        "source": {
            "client": {"base_url": httpserver.url_for("/api")},
            "resource_defaults": {"error_handler": {"max_retries": 2, "backoff_factor": 0.01}},
            "resources": [
                {
                    "name": "items",
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "schema": SCHEMA,
                    "endpoint": {"path": "items", "paginator": "single_page", **endpoint},
                }
            ],
        }
    }


def answers(httpserver, *responses: Response) -> None:
    queue = list(responses)
    httpserver.expect_request("/api/items").respond_with_handler(lambda request: queue.pop(0) if len(queue) > 1 else queue[0])


def body(data: bytes | str, content_type: str = "application/json", status: int = 200) -> Response:
    return Response(data, status=status, content_type=content_type)


GOOD = json.dumps({"data": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]})


@pytest.mark.parametrize(
    "bad",
    [body(""), body("   "), body('{"data": [{"id": 1'), body("<html>busy</html>", "text/html")],
    ids=["empty", "blank", "truncated", "html"],
)
def test_an_unreadable_200_is_retried_and_the_stream_completes(httpserver, bad):
    answers(httpserver, bad, bad, body(GOOD))
    assert sync(config(httpserver)).ids("items") == [1, 2]
    assert len(httpserver.log) == 3


def test_an_empty_200_that_stays_empty_fails_instead_of_ending_the_stream(httpserver):
    answers(httpserver, body(""))
    with pytest.raises(StreamError) as info:
        sync(config(httpserver))
    assert (
        str(info.value)
        == f"stream 'items': empty response body (HTTP 200) from {httpserver.url_for('/api/items')} (gave up after 3 attempts)"
    )


def test_a_204_is_a_page_without_records(httpserver):
    answers(httpserver, body("", status=204))
    assert sync(config(httpserver)).ids("items") == []


def test_a_json_error_report_with_200_is_an_error_not_a_record(httpserver, tmp_path):
    answers(httpserver, body(json.dumps({"errors": [{"message": "quota exceeded"}]})))
    out = run_cli([], config(httpserver), tmp_path)
    assert out.returncode == 1
    assert out.ids("items") == []
    assert last_line(out.stderr) == (
        f"tap-restgeneric: error: stream 'items': the response is an error, not data (HTTP 200) from "
        f'{httpserver.url_for("/api/items")}: {{"errors":[{{"message":"quota exceeded"}}]}}'
    )


def test_records_with_none_of_the_key_properties_are_an_error(httpserver):
    answers(httpserver, body(json.dumps({"data": [{"message": "try later", "code": 17}]})))
    with pytest.raises(
        StreamError, match=r"^stream 'items': a record has none of the key properties id, so the response is probably not data"
    ):
        sync(config(httpserver))


def test_a_list_mixing_objects_and_other_values_is_an_error_naming_the_item(httpserver):
    answers(httpserver, body(json.dumps({"data": [{"id": 1}, 7]})))
    with pytest.raises(StreamError) as info:
        sync(config(httpserver, data_selector="data"))
    assert str(info.value) == (
        f"stream 'items': data_selector 'data' selected a int (item 1), not an object (HTTP 200) from {httpserver.url_for('/api/items')}"
    )


def test_a_declared_charset_is_decoded(httpserver):
    answers(
        httpserver,
        body(
            json.dumps({"data": [{"id": 1, "name": "café"}]}, ensure_ascii=False).encode("latin-1"),
            "application/json; charset=ISO-8859-1",
        ),
    )
    assert sync(config(httpserver)).records("items") == [{"id": 1, "name": "café"}]


def test_a_body_that_is_not_utf8_and_declares_nothing_fails_in_one_line(httpserver):
    answers(httpserver, body('{"data": [{"id": 1, "name": "café"}]}'.encode("latin-1")))
    with pytest.raises(StreamError, match=r"^stream 'items': response is not valid UTF-8 \(application/json, HTTP 200\)"):
        sync(config(httpserver))


def _raises_like_msgspec_0_23(content: bytes):
    """msgspec 0.23's way of refusing bytes that are not UTF-8 inside a JSON string."""
    raise msgspec.DecodeError("Invalid UTF-8 encoded string")


def _raises_like_msgspec_0_19(content: bytes):
    """msgspec 0.19's way: the codec's own UnicodeDecodeError."""
    return msgspec.json.decode(content.decode("utf-8"))


@pytest.mark.parametrize(
    "decode", [_raises_like_msgspec_0_23, _raises_like_msgspec_0_19, None], ids=["0.23", "0.19", "installed"]
)
def test_not_utf8_is_said_the_same_way_whichever_msgspec_refuses_it(decode):
    """pyproject's range allows msgspec versions that fail in either way: the line is the same."""
    response = requests.Response()
    response.status_code = 200
    response.url = "http://127.0.0.1:9/api/items"
    response.headers["Content-Type"] = "application/json"
    response._content = '{"data": [{"id": 1, "name": "café"}]}'.encode("latin-1")
    with pytest.raises(UnreadableBody) as info:
        ResponseReader("items", "data", ["id"], decode=decode).parse(response)
    assert str(info.value.args[0]) == (
        "stream 'items': response is not valid UTF-8 (application/json, HTTP 200) from http://127.0.0.1:9/api/items"
    )


def test_a_decode_error_that_is_not_about_utf8_is_not_json():
    response = requests.Response()
    response.status_code = 200
    response.url = "http://127.0.0.1:9/api/items"
    response.headers["Content-Type"] = "text/plain"
    response._content = b"\xffbusy"
    with pytest.raises(UnreadableBody) as info:
        ResponseReader("items", "data", ["id"]).parse(response)
    assert (
        str(info.value.args[0]) == "stream 'items': response is not JSON (text/plain, HTTP 200) from http://127.0.0.1:9/api/items"
    )


def test_each_retry_is_logged_once(httpserver, tmp_path):
    answers(httpserver, body("", status=503), body(GOOD))
    out = run_cli([], config(httpserver), tmp_path)
    assert out.returncode == 0
    retries = [line for line in out.stderr.splitlines() if "503" in line and "METRIC" not in line]
    assert len(retries) == 1 and "Retrying in 0.01 s (attempt 1)" in retries[0]


def test_gzip_bodies_are_read(httpserver):
    response = body(gzip.compress(GOOD.encode()))
    response.headers["Content-Encoding"] = "gzip"
    answers(httpserver, response)
    assert sync(config(httpserver)).ids("items") == [1, 2]
