"""--record DIR saves every response, secrets redacted; --replay DIR runs the same config offline, without secrets."""

from __future__ import annotations

import json

from tap_restgeneric.sandbox import SandboxServer
from tests.support import CANARY_FORMS, last_line, preset_config, run_cli
from tests.test_parent_child import tracker_source


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
    assert files and all(json.loads(f.read_text())["request"].startswith("GET http://127.0.0.1:") for f in files)
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
    assert line.endswith("(record the run again)")


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
