"""The golden files (Airbyte CDK output against the mock API) and the comparison the tap will be held to.

Each golden must match its source (the pinned wheel, or the mini manifest), the CDK version of the
lock, and the frozen "now"; setting the connector up again must give the config and catalog the CDK
was given, so that the tap is run on exactly what the CDK ran on (oracle.golden_setup).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.airbyte import manifests, mockapi, oracle

CDK_REQUIREMENTS = manifests.ROOT / "scripts" / "airbyte" / "cdk-requirements.in"
PINNED = {p.name: p for p in manifests.load_pins()}
COMPONENTS = sorted(p.stem for p in oracle.COMPONENTS_DIR.glob("*.yaml"))
GOLDENS = sorted(p.stem for p in oracle.GOLDENS_DIR.glob("*.json"))
# Mini manifests whose CDK runs end in errors on purpose (a FAIL filter; an undecodable body).
ERRORS_EXPECTED = {"error_handlers", "request_options", "cdk_quirks"}


def _cdk_version() -> str:
    match = re.search(r"^airbyte-cdk==(\S+)$", CDK_REQUIREMENTS.read_text(), re.MULTILINE)
    assert match
    return match.group(1)


def test_every_pinned_connector_and_mini_manifest_has_a_golden_and_nothing_else_does():
    assert set(GOLDENS) == set(PINNED) | set(COMPONENTS)
    assert len(PINNED) >= 45
    assert len(COMPONENTS) >= 12


@pytest.mark.parametrize("name", GOLDENS)
def test_a_golden_matches_its_source_the_cdk_of_the_lock_and_the_frozen_now(name):
    golden = oracle.load_golden(name)
    if name in PINNED:
        pin = PINNED[name]
        assert golden["source"] == {"pypi": pin.package, "version": pin.version, "sha256": pin.sha256, "member": pin.member}
    else:
        assert golden["source"] == {"component": f"tests/airbyte/components/{name}.yaml"}
    assert golden["cdk"] == {
        "package": "airbyte-cdk",
        "version": _cdk_version(),
        "entrypoint": "source-declarative-manifest read",
    }
    assert (golden["frozen_now"], golden["now_env"]) == (oracle.now_text(), "TAP_RESTGENERIC_TEST_NOW")
    assert [run["run"] for run in golden["runs"]] == [1, 2]
    catalog = {entry["stream"] for entry in golden["catalog"]}
    for run in golden["runs"]:
        assert set(run["records"]) <= catalog
        assert run["unmatched_requests"] == []  # every request the CDK sent was one the mock was built for
        assert {s["stream"]["stream_descriptor"]["name"] for s in run["state"]} <= catalog
    first = golden["runs"][0]
    assert sum(len(records) for records in first["records"].values()) > 0
    if name not in ERRORS_EXPECTED:
        assert first["errors"] == []
    assert "127.0.0.1" not in json.dumps(golden)  # normalised to the mock host, whatever the port was


@pytest.mark.parametrize("name", GOLDENS)
def test_setting_a_golden_up_again_gives_the_config_and_catalog_the_cdk_was_given(name):
    golden = oracle.load_golden(name)
    with mockapi.MockServer() as server:
        prepared = oracle.golden_setup(name, server)
        assert oracle.normalise(prepared.config, server.base_url) == golden["config"]
        assert [{"stream": s["stream"]["name"], "sync_mode": s["sync_mode"]} for s in prepared.catalog["streams"]] == golden[
            "catalog"
        ]
        assert oracle.tap_environment(prepared) == {"TAP_RESTGENERIC_TEST_NOW": golden["frozen_now"]}
        assert server.api is prepared.api


def test_goldens_capture_the_cdk_semantics_the_issue_lists():
    """The mini manifests pin down the behaviours that are easy to get wrong; the tap will be held to them."""
    page = oracle.load_golden("page_increment")["runs"][0]["requests"]
    first_page = [r["query"] for r in page if r["path"].endswith("/items")]
    assert sorted(first_page) == [[["page", "1"], ["per_page", "3"]], [["per_page", "3"]]]  # no page parameter first

    offsets = [
        r["query"] for r in oracle.load_golden("offset_increment")["runs"][0]["requests"] if r["path"].endswith("/records")
    ]
    assert sorted(offsets) == [[["limit", "4"]], [["offset", "4"], ["limit", "4"]]]  # records returned, filter or not

    options = oracle.load_golden("request_options")["runs"][0]
    widgets = next(r for r in options["requests"] if r["path"].endswith("/widgets"))
    assert ["now", "2026-01-15 12:34:56+00:00"] in widgets["query"]  # str(datetime)
    assert ["today", "2026-01-15"] in widgets["query"]
    search = next(r for r in options["requests"] if r["path"].endswith("/search"))
    assert search["body"]["limit"] == 25  # ast.literal_eval: "25" sent as a number
    assert search["body"]["filter"] == {"status": "open", "tags": ["a", "b"]}  # a dict-looking string as an object
    assert "undecodable" not in options["records"]  # an undecodable body: no records

    account = oracle.load_golden("extractors")["runs"][0]["records"]["account"]
    assert len(account) == 1  # field_path [] on an object: one record

    midnight = oracle.load_golden("datetime_feeds")["runs"]
    assert len(midnight[1]["records"]["until_midnight"]) == len(midnight[0]["records"]["until_midnight"])


def test_compare_reports_multiset_and_order_separately():
    golden = {"a": [{"id": 1}, {"id": 2}, {"id": 2}], "b": [{"x": 1}]}
    same = oracle.compare({"a": [{"id": 1}, {"id": 2}, {"id": 2}], "b": [{"x": 1}]}, golden)
    assert same.same_records and same.same_order()
    assert same.report() == "same records, same order"

    reordered = oracle.compare({"a": [{"id": 2}, {"id": 1}, {"id": 2}], "b": [{"x": 1}]}, golden)
    assert reordered.same_records
    assert not reordered.same_order()
    assert reordered.same_order(["b"])
    assert reordered.report() == "a: 0 missing, 0 unexpected, order differs"

    short = oracle.compare({"a": [{"id": 1}, {"id": 2}], "c": [{"y": "1"}]}, golden)
    assert not short.same_records
    assert short.streams["a"].missing == [{"id": 2}]  # a duplicate dropped counts
    assert short.streams["b"].missing == [{"x": 1}]  # a stream absent on one side is empty there
    assert short.streams["c"].unexpected == [{"y": "1"}]
    assert short.report().splitlines()[0] == "a: 1 missing, 0 unexpected, order differs"


def test_compare_is_exact_on_values_and_indifferent_to_key_order():
    golden = {"s": [{"id": 1, "n": {"a": 1, "b": 2}}]}
    assert oracle.compare({"s": [{"n": {"b": 2, "a": 1}, "id": 1}]}, golden).same_records
    assert not oracle.compare({"s": [{"id": 1.0, "n": {"a": 1, "b": 2}}]}, golden).same_records  # 1.0 is written as 1.0
    assert not oracle.compare({"s": [{"id": "1", "n": {"a": 1, "b": 2}}]}, golden).same_records
    assert not oracle.compare({"s": [{"id": 1, "n": {"a": 1, "b": 2}, "extra": None}]}, golden).same_records


def test_reading_cdk_output_keeps_records_in_order_the_last_state_per_stream_and_errors():
    lines = [
        '{"type":"LOG","log":{"level":"INFO","message":"hello"}}',
        '{"type":"RECORD","record":{"stream":"a","data":{"id":2},"emitted_at":1}}',
        '{"type":"RECORD","record":{"stream":"a","data":{"id":1},"emitted_at":1}}',
        '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":"1"}}}}',
        '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":"2"}}}}',
        '{"type":"TRACE","trace":{"type":"ERROR","error":{"message":"boom"}}}',
        '{"type":"CONTROL","control":{"type":"CONNECTOR_CONFIG","connectorConfig":{"config":{"k":"v","__injected_declarative_manifest":{}}}}}',
        "not json",
    ]
    output = oracle.read_messages(lines)
    assert output.records == {"a": [{"id": 2}, {"id": 1}]}
    assert [s["stream"]["stream_state"] for s in output.state] == [{"c": "2"}]
    assert output.errors == ["boom"]
    assert output.controls == [{"type": "CONNECTOR_CONFIG", "connectorConfig": {"config": {"k": "v"}}}]
