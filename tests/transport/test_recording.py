"""--record DIR saves every response, secrets redacted; --replay DIR runs the same config offline, without secrets."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tap_restgeneric.sandbox import SandboxServer
from tests.streams.test_parent_child import tracker_source
from tests.support import CANARY, CANARY_FORMS, assert_no_canary, last_line, preset_config, run_cli


def records(out) -> list[tuple]:
    return [(m["stream"], m["record"]) for m in out.messages if m["type"] == "RECORD"]


def test_a_recorded_run_replays_offline_without_secrets(tmp_path):
    recording = tmp_path / "recording"
    temp = tmp_path / "tmp"  # where the flags' settings file goes, and is removed at exit
    temp.mkdir()
    with SandboxServer(secret="canary-S3cr3t/+&=v4lue") as sandbox:
        config = {"source": tracker_source(sandbox), "secrets": {"token": "canary-S3cr3t/+&=v4lue"}}
        recorded = run_cli(["--record", str(recording)], config, tmp_path, env={"TMPDIR": str(temp)})
    assert recorded.returncode == 0, recorded.stderr[-2000:]
    files = sorted(recording.glob("*.json"))
    responses = [f for f in files if f.name != "schemas.json"]
    assert responses and all(json.loads(f.read_text())["request"].startswith("GET http://127.0.0.1:") for f in responses)
    assert sorted(json.loads((recording / "schemas.json").read_text())) == ["comments", "issues", "reactions"]
    for path in files:
        text = path.read_text()
        assert not [form for form in CANARY_FORMS if form in text], path.name
    # The sandbox is gone and the config has no secret: every answer comes from the recording.
    offline = {"source": config["source"]}
    replayed = run_cli([f"--replay={recording}"], offline, tmp_path, env={"TMPDIR": str(temp)})
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    assert list(temp.iterdir()) == []
    assert records(replayed) == records(recorded) and len(records(replayed)) > 50


def test_a_request_the_recording_lacks_is_one_line(sandbox, tmp_path):
    recording = tmp_path / "recording"
    assert run_cli(["--record", str(recording)], preset_config(sandbox, "certifications"), tmp_path).returncode == 0
    config = preset_config(sandbox, "certifications", base_url=sandbox.base_url("certifications") + "/elsewhere")
    out = run_cli(["--replay", str(recording)], config, tmp_path)
    assert out.returncode != 0
    line = last_line(out.stderr)
    assert line.startswith(f"tap-restgeneric: error: --replay {recording}: no recorded response for GET ")
    assert " (closest recorded: GET http://127.0.0.1:" in line
    assert line.endswith("; record the run again, or make the same requests (the same config, selection and state)")


def tracker_config(sandbox) -> dict:
    """The tracker tree; no stream declares a schema, so discovery samples the API for them."""
    return {"source": tracker_source(sandbox), "secrets": {"token": CANARY}}


@pytest.mark.parametrize("recorded_with_catalog", [True, False], ids=["recorded-with-catalog", "recorded-without"])
def test_a_recording_replays_with_or_without_catalog_whichever_way_it_was_made(tmp_path, recorded_with_catalog):
    recording, catalog = tmp_path / "recording", tmp_path / "catalog.json"
    with SandboxServer(secret=CANARY) as sandbox:
        config = tracker_config(sandbox)
        catalog.write_text(run_cli(["--discover"], config, tmp_path).stdout)
        with_catalog = ["--catalog", str(catalog)] if recorded_with_catalog else []
        recorded = run_cli(["--record", str(recording), *with_catalog], config, tmp_path)
    assert recorded.returncode == 0, recorded.stderr[-2000:]
    assert len(records(recorded)) > 50
    offline = {"source": config["source"]}  # the sandbox is gone, and the config has no secret
    for replay_with_catalog in ([], ["--catalog", str(catalog)]):
        replayed = run_cli(["--replay", str(recording), *replay_with_catalog], offline, tmp_path)
        assert replayed.returncode == 0, replayed.stderr[-2000:]
        assert records(replayed) == records(recorded)


def test_a_missing_request_names_the_closest_recorded_one(tmp_path):
    """A recording made with --catalog, from before recordings kept the streams' schemas: a replay
    without --catalog samples the API at discovery, which the recorded sync never did."""
    recording, catalog = tmp_path / "recording", tmp_path / "catalog.json"
    with SandboxServer(secret=CANARY) as sandbox:
        config = tracker_config(sandbox)
        catalog.write_text(run_cli(["--discover"], config, tmp_path).stdout)
        assert run_cli(["--record", str(recording), "--catalog", str(catalog)], config, tmp_path).returncode == 0
        base = sandbox.base_url("tracker")
    (recording / "schemas.json").unlink()
    out = run_cli(["--replay", str(recording)], {"source": config["source"]}, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        f"tap-restgeneric: error: --replay {recording}: no recorded response for GET {base}/issues/1/comments "
        f"(closest recorded: GET {base}/issues/1/comments?since=2024-01-01T00%3A00%3A00Z); record the run again, "
        "or make the same requests (the same config, selection and state)"
    )


def test_a_request_recorded_with_another_body_is_named_so(httpserver, tmp_path):
    httpserver.expect_request("/api/search", method="POST").respond_with_json([{"id": 1}])

    def config(query: str) -> dict:
        resource = {
            "name": "hits",
            "endpoint": {"path": "search", "method": "POST", "json": {"q": query}, "paginator": "single_page"},
        }
        return {"source": {"client": {"base_url": httpserver.url_for("/api")}, "resources": [resource]}}

    recording = tmp_path / "recording"
    assert run_cli(["--record", str(recording)], config("shoes"), tmp_path).returncode == 0
    out = run_cli(["--replay", str(recording)], config("boots"), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        f"tap-restgeneric: error: --replay {recording}: no recorded response for POST {httpserver.url_for('/api/search')} "
        "with this body (it was recorded with another body); record the run again, or make the same requests "
        "(the same config, selection and state)"
    )


def test_an_oauth2_token_is_not_recorded(httpserver, tmp_path):
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json(
        {"access_token": "live-access-token-XYZ", "refresh_token": "live-refresh-ABC", "token_type": "bearer", "expires_in": 3600}
    )
    httpserver.expect_request("/api/items").respond_with_json([{"id": 1}])
    config = {
        "secrets": {"key": "client-secret-value"},
        "source": {
            "client": {
                "base_url": httpserver.url_for("/api"),
                "auth": {
                    "type": "oauth2_client_credentials",
                    "access_token_url": httpserver.url_for("/oauth/token"),
                    "client_id": "cid",
                    "client_secret": "{{ secrets.key }}",
                },
            },
            "resources": [{"name": "items", "endpoint": {"path": "items", "paginator": "single_page"}}],
        },
    }
    recording = tmp_path / "rec"
    assert run_cli(["--record", str(recording)], config, tmp_path).returncode == 0
    text = "".join(path.read_text() for path in recording.glob("*.json"))
    for secret in ("live-access-token-XYZ", "live-refresh-ABC", "client-secret-value"):
        assert secret not in text
    replayed = run_cli(["--replay", str(recording)], {"source": config["source"]}, tmp_path)
    assert replayed.returncode == 0 and replayed.ids("items") == [1]


def test_the_readme_example_replays_offline_as_written(sandbox, tmp_path):
    """README "Record and replay": its commands, run as written (the sandbox's port for 8765)."""
    readme = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()
    section = readme[readme.index("### Record and replay") :]
    commands = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert commands is not None
    script = (
        commands.group(1).replace("http://127.0.0.1:8765", sandbox.url).replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    )
    config = preset_config(sandbox, "operations")  # the Quickstart's config.json
    (tmp_path / "config.json").write_text(json.dumps(config))
    proc = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "secrets" not in (tmp_path / "ci-config.json").read_text()

    def written(name: str) -> list:
        text = (tmp_path / name).read_text()
        assert_no_canary(text)
        return [(m["stream"], m["record"]) for m in map(json.loads, text.splitlines()) if m["type"] == "RECORD"]

    assert written("replayed.jsonl") == written("recorded.jsonl")
    assert len(written("recorded.jsonl")) == sum(sandbox.counts()["operations"].values())
