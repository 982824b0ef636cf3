"""An Airbyte manifest through the tap's command line, against the mock API on loopback: discovery names
the manifest's streams, a sync writes the CDK's records, --record/--replay and --doctor work as for a
dlt config, the connector's secret never shows, and what the tap cannot run is refused before any
request with one line."""

from __future__ import annotations

import json

import yaml

from tests import support
from tests.airbyte import mockapi, oracle


def _config(setup: oracle.Setup, tmp_path, **extra) -> dict:
    manifest_file = tmp_path / "manifest.yaml"
    manifest_file.write_text(yaml.safe_dump(setup.manifest, sort_keys=False))
    return {"source_file": str(manifest_file), "manifest_config": {**setup.config, **extra}}


def _records(output: support.Output) -> dict[str, list[dict]]:
    records: dict[str, list[dict]] = {}
    for message in output.messages:
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
    return records


def test_discover_sync_record_replay_and_doctor_of_a_manifest(tmp_path):
    golden = oracle.load_golden("page_increment")
    with mockapi.MockServer() as server:
        setup = oracle.golden_setup("page_increment", server)
        env = oracle.tap_environment(setup)
        config = _config(setup, tmp_path, api_key=support.CANARY)  # run_cli fails on any form of it in the output

        catalog = json.loads(support.run_cli(["--discover"], config, tmp_path, env=env).stdout)
        assert [entry["tap_stream_id"] for entry in catalog["streams"]] == ["default_first_page", "injected_from_one"]

        recorded = support.run_cli(["--record", str(tmp_path / "rec")], config, tmp_path, env=env)
        assert recorded.returncode == 0, recorded.stderr
        records = oracle.normalise(_records(recorded), server.base_url)
        assert oracle.compare(records, oracle.golden_records(golden, 1)).same_records
        assert server.api.requests  # the API was asked
        recording = [path for path in (tmp_path / "rec").rglob("*") if path.is_file()]
        assert recording
        support.assert_no_canary(*(path.read_text(errors="replace") for path in recording))

        doctor = support.run_cli(["--doctor"], config, tmp_path, env=env)
        assert doctor.returncode == 0, doctor.stderr + doctor.stdout  # type: ignore[attr-defined]
        assert "default_first_page" in doctor.stdout  # type: ignore[attr-defined]

    replayed = support.run_cli(
        ["--replay", str(tmp_path / "rec")], {**config, "manifest_config": setup.config}, tmp_path, env=env
    )
    assert replayed.returncode == 0, replayed.stderr
    assert oracle.normalise(_records(replayed), server.base_url) == records  # offline, the server is gone


def test_a_manifest_the_tap_cannot_run_is_refused_before_any_request(tmp_path):
    with mockapi.MockServer() as server:
        setup = oracle.golden_setup("page_increment", server)
        setup.manifest["streams"][1]["retriever"]["record_selector"]["extractor"] = {
            "type": "CustomRecordExtractor",
            "class_name": "source_x.components.Extractor",
        }
        setup.manifest["streams"][0]["retriever"]["type"] = "AsyncRetriever"
        result = support.run_cli([], _config(setup, tmp_path), tmp_path, env=oracle.tap_environment(setup))
        assert result.returncode != 0
        assert support.last_line(result.stderr) == (
            "tap-restgeneric: config error: manifest: the tap cannot run AsyncRetriever at streams[0].retriever; "
            "CustomRecordExtractor (source_x.components.Extractor) at streams[1].retriever.record_selector.extractor"
        )
        assert server.api.requests == []


def test_a_manifest_config_that_leaves_the_spec_is_one_line_per_problem_without_its_values(tmp_path):
    with mockapi.MockServer() as server:
        setup = oracle.golden_setup("page_increment", server)
        config = _config(setup, tmp_path, page_size=99)
        config["manifest_config"].pop("api_key")
        result = support.run_cli([], config, tmp_path, env=oracle.tap_environment(setup))
        assert result.returncode != 0
        assert "manifest_config: 'api_key' is required" in result.stderr
        assert "manifest_config.page_size: does not match the spec (maximum: 4)" in result.stderr
        assert server.api.requests == []


def test_a_windowed_manifest_keeps_singer_bookmarks_resumes_from_them_and_the_doctor_lists_its_windows(tmp_path):
    golden = oracle.load_golden("datetime_windows")
    with mockapi.MockServer() as server:
        setup = oracle.golden_setup("datetime_windows", server)
        env = oracle.tap_environment(setup)
        config = _config(setup, tmp_path)

        first = support.run_cli([], config, tmp_path, env=env)
        assert first.returncode == 0, first.stderr
        assert oracle.compare(oracle.normalise(_records(first), server.base_url), oracle.golden_records(golden, 1)).same_records
        state = first.states[-1]
        assert state == {  # Singer STATE: per stream, per partition, the newest cursor in the cursor's format
            "bookmarks": {
                "daily_windows": {"partition_bookmarks": {"{}": {"cursor": "2026-01-14T21:26:12Z"}}},
                "epoch_cursor": {"partition_bookmarks": {"{}": {"cursor": "1768425972"}}},
            }
        }
        (tmp_path / "state.json").write_text(json.dumps(state))
        setup.api.reset()
        second = support.run_cli(["--state", str(tmp_path / "state.json")], config, tmp_path, env=env)
        assert second.returncode == 0, second.stderr
        assert oracle.compare(oracle.normalise(_records(second), server.base_url), oracle.golden_records(golden, 2)).same_records
        # one window from the bookmark (less the 6-hour lookback for daily_windows) to the frozen now
        assert sorted(
            (r["path"], dict(r["query"]).get("updated_since") or dict(r["query"])["created[gte]"])
            for r in oracle.canonical_requests(setup.api)
        ) == [
            ("/api.example.com/v1/charges", "1768425972"),
            ("/api.example.com/v1/orders", "2026-01-14T15:26:12Z"),
        ]

        setup.api.reset()
        doctor = support.run_cli(["--doctor"], config, tmp_path, env=env)
        assert doctor.returncode == 0, doctor.stdout  # type: ignore[attr-defined]
        assert (
            "partition (one partition): 3 windows, first 2026-01-13T00:00:00Z .. 2026-01-13T23:59:59Z, "
            "last 2026-01-15T00:00:00Z .. 2026-01-15T12:34:56Z"
        ) in doctor.stdout  # type: ignore[attr-defined]
        assert len(setup.api.requests) == 2  # the doctor probes each stream's first window only
