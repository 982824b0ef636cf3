"""Decoders: each built directly on bytes, plus bodies served on loopback through the tap's Transport."""

from __future__ import annotations

import gzip
import io
import json
import logging
import tracemalloc
import zipfile

import pytest
import requests

from tap_restgeneric.errors import SourceConfigError, Subject
from tap_restgeneric.paging.compressed import GzipDecoder, ZipDecoder
from tap_restgeneric.paging.decoder_config import build_decoder, describe
from tap_restgeneric.paging.decoders import (
    CsvDecoder,
    JsonDecoder,
    JsonLinesDecoder,
    UndecodableBody,
    UnreadableCharset,
    XmlDecoder,
    body_of,
    decode_documents,
    iter_documents,
)
from tap_restgeneric.transport.deadlines import new_session
from tap_restgeneric.transport.origins import Origin
from tap_restgeneric.transport.wire import Transport


def decode(spec, body: bytes, content_type: str = "", max_bytes: int = 1 << 20):
    return decode_documents(build_decoder(spec), body, content_type, max_bytes)


def zipped(*files: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------ json


def test_json_is_one_document_in_the_declared_charset():
    body = json.dumps({"name": "café"}, ensure_ascii=False).encode("latin-1")
    assert decode(None, body, "application/json; charset=ISO-8859-1") == [{"name": "café"}]


@pytest.mark.parametrize(
    ("body", "content_type", "problem", "kind"),
    [
        (b"<html>", "text/html", "not JSON", UndecodableBody),
        ('{"a": "café"}'.encode("latin-1"), "", "not valid UTF-8", UndecodableBody),
        (b"[" * 100_000, "", "JSON nested too deeply", UndecodableBody),
        (b"{}", "application/json; charset=klingon", "not valid klingon (LookupError)", UnreadableCharset),
    ],
)
def test_json_failures_name_the_decoder_and_the_problem(body, content_type, problem, kind):
    with pytest.raises(kind) as info:
        decode({"type": "json"}, body, content_type)
    assert str(info.value) == f"json decoder: {problem}"
    assert type(info.value) is kind


# ------------------------------------------------------------------------------------------ jsonl


def test_jsonl_is_a_document_per_line_blank_lines_and_a_bom_skipped():
    body = b'\xef\xbb\xbf{"id": 1}\n\n{"id": 2}\r\n  \n[3]'
    assert decode({"type": "jsonl"}, body) == [{"id": 1}, {"id": 2}, [3]]


def test_jsonl_in_another_encoding():
    body = '{"name": "café"}\n{"name": "thé"}\n'.encode("utf-16")
    assert decode({"type": "jsonl", "encoding": "utf-16"}, body) == [{"name": "café"}, {"name": "thé"}]


def test_a_jsonl_line_that_is_not_json_fails_naming_the_line_where_the_cdk_drops_it():
    with pytest.raises(UndecodableBody) as info:
        decode({"type": "jsonl"}, b'{"id": 1}\n{"id": 2\n{"id": 3}\n')
    assert str(info.value) == "jsonl decoder: line 2 is not JSON"


# ------------------------------------------------------------------------------------------ csv


def test_csv_rows_are_documents_of_strings_keyed_by_the_header():
    body = b'id,name,amount\n1,"Smith, Jo",10.50\n2,"say ""hi""",\n'
    assert decode({"type": "csv"}, body, "text/csv") == [
        {"id": "1", "name": "Smith, Jo", "amount": "10.50"},
        {"id": "2", "name": 'say "hi"', "amount": ""},
    ]


def test_csv_options_delimiter_escape_quote_char_encoding_field_names_and_nones():
    body = "id\tname\tnote\n1\t'a\tb'\tNULL\n2\tcafé\n".encode("latin-1")
    spec = {
        "type": "csv",
        "delimiter": "\\t",
        "quote_char": "'",
        "encoding": "latin-1",
        "field_names": ["key", "label", "remark"],
        "set_values_to_none": ["NULL"],
    }
    # The header row is read and its names replaced; the short row's missing cell is None, as the CDK's.
    assert decode(spec, body) == [
        {"key": "1", "label": "a\tb", "remark": None},
        {"key": "2", "label": "café", "remark": None},
    ]


def test_csv_without_a_header_row_takes_field_names_and_keeps_the_first_row():
    assert decode({"type": "csv", "header": False, "field_names": ["a", "b"]}, b"1,2\n3,4\n") == [
        {"a": "1", "b": "2"},
        {"a": "3", "b": "4"},
    ]


def test_csv_drops_the_utf8_byte_order_mark_and_takes_the_content_type_charset():
    assert decode({"type": "csv"}, b"\xef\xbb\xbfid\n7\n") == [{"id": "7"}]
    assert decode({"type": "csv"}, "n\ncafé\n".encode("latin-1"), "text/csv; charset=latin-1") == [{"n": "café"}]


def test_an_empty_csv_or_a_header_alone_has_no_rows():
    assert decode({"type": "csv"}, b"") == []
    assert decode({"type": "csv"}, b"id,name\n") == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"id,name\n1,a,extra\n", "row 2 has 3 cells, more than the 2 columns named"),
        (b"id,id\n1,2\n", "the header names the column 'id' twice; set field_names"),
        (b"id\n\xff\n", "not valid utf-8-sig (byte 3 of a chunk)"),
        (b'id\n"unterminated\n', "row 2: unexpected end of data"),
    ],
)
def test_csv_that_would_lose_a_cell_or_does_not_parse_is_an_error(body, problem):
    with pytest.raises(UndecodableBody) as info:
        decode({"type": "csv", **({"encoding": "utf-8"} if b"\xff" in body else {})}, body)
    assert str(info.value) == f"csv decoder: {problem}"


def test_csv_rows_stream_without_the_whole_text_decoded_at_once():
    """Peak memory while reading a 24 MB CSV row by row stays a small fraction of its size."""
    row = b"12345,some name here,2024-01-01T00:00:00Z,a longer free text column of data\n"
    body = io.BytesIO(b"id,name,at,text\n" + row * (24_000_000 // len(row)))
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_documents(build_decoder({"type": "csv"}), body, max_bytes=1 << 30))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 24_000_000 // len(row)
    assert peak < 2_000_000


# ------------------------------------------------------------------------------------------ xml

AIRBYTE_EXAMPLE = b"""<?xml version="1.0"?>
<root>
    <location id="123">
        San Francisco
    </location>
    <item id="1" category="books">
        <name>Book Title 1</name>
        <price>10.99</price>
    </item>
    <item id="2" category="electronics">
        <name>Gadget</name>
        <price>299.99</price>
        <description>A useful gadget</description>
    </item>
    <empty/>
    <ns:tagged xmlns:ns="urn:x">text</ns:tagged>
</root>"""


def test_xml_maps_as_airbytes_xml_decoder():
    """One child is a value, repeated children a list, attributes @name, text beside them #text."""
    [document] = decode({"type": "xml"}, AIRBYTE_EXAMPLE, "application/xml")
    assert document == {
        "root": {
            "location": {"@id": "123", "#text": "San Francisco"},
            "item": [
                {"@id": "1", "@category": "books", "name": "Book Title 1", "price": "10.99"},
                {"@id": "2", "@category": "electronics", "name": "Gadget", "price": "299.99", "description": "A useful gadget"},
            ],
            "empty": None,
            "ns:tagged": {"@xmlns:ns": "urn:x", "#text": "text"},
        }
    }
    assert body_of(XmlDecoder(), [document]) is document


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<r>&secret;</r>"""


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (BILLION_LAUGHS, "entity declaration 'lol' refused (defusedxml: never expanded)"),
        (EXTERNAL, "entity declaration 'secret' refused (defusedxml: never expanded)"),
        (b"<a><b></a>", "not well-formed XML (mismatched tag: line 1, column 8)"),
        (b"", "not well-formed XML (no element found: line 1, column 0)"),
    ],
)
def test_xml_that_is_malformed_or_declares_entities_is_an_error(body, problem):
    with pytest.raises(UndecodableBody) as info:
        decode({"type": "xml"}, body)
    assert str(info.value) == f"xml decoder: {problem}"


# ------------------------------------------------------------------------------------------ gzip


def test_gzip_wraps_any_decoder_and_reads_every_member():
    body = gzip.compress(b"id,name\n1,a\n") + gzip.compress(b"2,b\n")
    assert decode({"type": "gzip", "decoder": {"type": "csv"}}, body) == [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}]
    assert decode({"type": "gzip", "decoder": {"type": "xml"}}, gzip.compress(b"<a><b>1</b></a>")) == [{"a": {"b": "1"}}]
    assert decode({"type": "gzip"}, gzip.compress(b'{"data": [1]}')) == [{"data": [1]}]


def test_gzip_passes_a_body_that_is_not_compressed_to_the_inner_decoder():
    assert decode({"type": "gzip", "decoder": {"type": "jsonl"}}, b'{"id": 1}\n') == [{"id": 1}]


def test_gzip_of_gzip():
    body = gzip.compress(gzip.compress(b'{"id": 1}\n'))
    assert decode({"type": "gzip", "decoder": {"type": "gzip", "decoder": {"type": "jsonl"}}}, body) == [{"id": 1}]


def test_a_cut_gzip_payload_and_an_inner_failure_name_both_decoders():
    with pytest.raises(UndecodableBody) as info:
        decode({"type": "gzip", "decoder": {"type": "csv"}}, gzip.compress(b"id\n1\n" * 100)[:-12])
    assert str(info.value) == "gzip > csv decoder: the gzip payload is cut short"
    with pytest.raises(UndecodableBody) as info:
        decode({"type": "gzip", "decoder": {"type": "jsonl"}}, gzip.compress(b"{}\nnope\n"))
    assert str(info.value) == "gzip > jsonl decoder: line 2 is not JSON"


def test_a_gzip_bomb_stops_at_the_cap():
    body = gzip.compress(b"\n" * 50_000_000)  # 50 MB of blank lines in ~50 kB
    assert len(body) < 100_000
    with pytest.raises(UndecodableBody) as info:
        decode({"type": "gzip", "decoder": {"type": "jsonl"}}, body, max_bytes=1_000_000)
    assert str(info.value) == (
        "gzip > jsonl decoder: more than 1,000,000 bytes once decompressed (the max_response_mb setting); stopped reading"
    )


# ------------------------------------------------------------------------------------------ zip


def test_zip_reads_every_file_in_order_and_skips_directories():
    body = zipped(("dir/", b""), ("dir/a.jsonl", b'{"id": 1}\n{"id": 2}\n'), ("b.jsonl", b'{"id": 3}\n'))
    assert decode({"type": "zip", "decoder": {"type": "jsonl"}}, body) == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_a_zip_of_one_json_file_is_that_document_and_of_two_the_list():
    decoder = ZipDecoder(JsonDecoder())
    one = decode_documents(decoder, zipped(("a.json", b'{"data": [1]}')))
    assert body_of(decoder, one) == {"data": [1]}
    two = decode_documents(decoder, zipped(("a.json", b"[1]"), ("b.json", b"[2]")))
    assert body_of(decoder, two) == [[1], [2]]


def test_zip_failures_name_the_file():
    with pytest.raises(UndecodableBody) as info:
        decode({"type": "zip", "decoder": {"type": "csv"}}, zipped(("ok.csv", b"id\n1\n"), ("bad.csv", b"id\n1,2\n")))
    assert str(info.value) == "zip > csv decoder: file 'bad.csv': row 2 has 2 cells, more than the 1 columns named"
    with pytest.raises(UndecodableBody) as info:
        decode({"type": "zip"}, b"PK not really")
    assert str(info.value) == "zip > json decoder: not a valid zip archive (File is not a zip file)"


def test_a_zip_bomb_counts_every_file_against_one_cap():
    body = zipped(*((f"{n}.jsonl", b"\n" * 400_000) for n in range(3)))
    assert decode({"type": "zip", "decoder": {"type": "jsonl"}}, body, max_bytes=1_300_000) == []
    with pytest.raises(UndecodableBody, match=r"more than 1,000,000 bytes once decompressed"):
        decode({"type": "zip", "decoder": {"type": "jsonl"}}, body, max_bytes=1_000_000)


# ------------------------------------------------------------------------------------------ config


def test_body_of_lines_and_rows_is_always_the_list():
    assert body_of(CsvDecoder(), [{"id": "1"}]) == [{"id": "1"}]
    assert body_of(JsonLinesDecoder(), []) == []
    assert body_of(GzipDecoder(JsonDecoder()), [{"a": 1}]) == {"a": 1}


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"type": "yaml"}, "decoder.type: 'yaml' is not one of json, jsonl, csv, xml, gzip, zip"),
        (
            {"type": "csv", "sep": ";"},
            (
                "decoder.sep: not an option of the csv decoder (options: delimiter, encoding, "
                "field_names, header, quote_char, set_values_to_none)"
            ),
        ),
        (
            {"type": "gzip", "decoder": {"type": "xml", "x": 1}},
            "decoder.decoder.x: not an option of the xml decoder (options: none besides type)",
        ),
        ({"type": "csv", "header": False}, "decoder: a CSV without a header row needs field_names"),
        ({"type": "csv", "delimiter": ";;"}, "decoder: delimiter and quote_char are one character each"),
        ({"type": "csv", "field_names": "a,b"}, "decoder.field_names: expected a list of strings"),
        ("csv", "decoder: expected an object with a type (json, jsonl, csv, xml, gzip, zip)"),
    ],
)
def test_a_decoder_config_mistake_is_one_line_naming_its_path(spec, problem):
    with pytest.raises(SourceConfigError) as info:
        build_decoder(spec)
    assert str(info.value) == problem


def test_describe_for_the_doctor():
    assert describe(build_decoder(None)) == "json"
    spec = {"type": "gzip", "decoder": {"type": "csv", "delimiter": ";", "header": False, "field_names": ["a"]}}
    assert describe(build_decoder(spec)) == "gzip > csv (delimiter ';', no header row, columns a)"


# ------------------------------------------------------------------------------------------ on loopback


def fetch(httpserver, path: str) -> requests.Response:
    url = httpserver.url_for(path)
    transport = Transport(
        session=new_session(),
        origin=Origin.of(url),
        about=Subject(other="test"),
        timeout=30,
        max_bytes=10 << 20,
        logger=logging.getLogger("t"),
    )
    return transport.send(requests.Request("GET", url).prepare())


def test_a_gzip_payload_served_with_content_encoding_gzip_too(httpserver):
    """The transport undoes Content-Encoding; the gzip decoder then undoes the payload's own gzip."""
    payload = gzip.compress(b"id;name\n1;caf\xe9\n")
    httpserver.expect_request("/export.csv.gz").respond_with_data(
        gzip.compress(payload), headers={"Content-Encoding": "gzip", "Content-Type": "application/gzip"}
    )
    response = fetch(httpserver, "/export.csv.gz")
    spec = {"type": "gzip", "decoder": {"type": "csv", "delimiter": ";", "encoding": "latin-1"}}
    assert decode(spec, response.content, response.headers["Content-Type"]) == [{"id": "1", "name": "café"}]


def test_jsonl_xml_and_zip_endpoints(httpserver):
    httpserver.expect_request("/lines").respond_with_data(b'{"id": 1}\n{"id": 2}\n', content_type="application/x-ndjson")
    httpserver.expect_request("/feed.xml").respond_with_data(
        b"<feed><entry>a</entry><entry>b</entry></feed>", content_type="text/xml"
    )
    httpserver.expect_request("/bundle.zip").respond_with_data(zipped(("1.csv", b"id\n1\n"), ("2.csv", b"id\n2\n")))
    lines = fetch(httpserver, "/lines")
    assert decode({"type": "jsonl"}, lines.content, lines.headers["Content-Type"]) == [{"id": 1}, {"id": 2}]
    assert decode({"type": "xml"}, fetch(httpserver, "/feed.xml").content) == [{"feed": {"entry": ["a", "b"]}}]
    assert decode({"type": "zip", "decoder": {"type": "csv"}}, fetch(httpserver, "/bundle.zip").content) == [
        {"id": "1"},
        {"id": "2"},
    ]
