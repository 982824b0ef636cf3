"""The secret canary: a distinctive secret never appears in anything the tap writes."""

from __future__ import annotations

import json
import socket

from tests import support
from tests.support import CANARY, preset_config, run_cli

DEBUG = {"LOGLEVEL": "DEBUG", "TAP_RESTGENERIC_LOG_LEVEL": "DEBUG"}


def assert_no_canary(out) -> None:
    support.assert_no_canary(out.stdout, out.stderr)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_canary_absent_from_about_discover_sync_and_state(sandbox, tmp_path):
    config = preset_config(sandbox, "social_insights")  # the key travels in the query string
    assert_no_canary(run_cli(["--about", "--format=json"], config, tmp_path, env=DEBUG))
    discovered = run_cli(["--discover"], config, tmp_path, env=DEBUG)
    assert discovered.returncode == 0
    assert_no_canary(discovered)
    synced = run_cli([], config, tmp_path, env=DEBUG)
    assert synced.returncode == 0 and synced.ids("media")
    assert_no_canary(synced)
    state = tmp_path / "state.json"
    state.write_text(json.dumps(synced.states[-1]))
    assert_no_canary(run_cli(["--state", str(state)], config, tmp_path, env=DEBUG))


def test_canary_absent_from_errors_and_retries(sandbox, tmp_path):
    sandbox.inject_fault("/social_insights/v1/media", "500", count=50)
    failed = run_cli([], {"secrets": {"api_key": CANARY}, "source": _fast_social(sandbox)}, tmp_path, env=DEBUG)
    sandbox.clear_faults()
    assert failed.returncode == 1
    assert "HTTP 500" in failed.stderr
    assert_no_canary(failed)


def test_canary_absent_when_the_host_is_unreachable(tmp_path):
    port = _closed_port()
    config = {
        "secrets": {"api_key": CANARY},
        "source": {
            "client": {
                "base_url": f"http://127.0.0.1:{port}",
                "auth": {"type": "api_key", "name": "api_key", "api_key": "{{ secrets.api_key }}", "location": "query"},
            },
            "resources": [
                {
                    "name": "r",
                    "schema": {"properties": {"id": {"type": "integer"}}},
                    "error_handler": {"max_retries": 1, "backoff_factor": 0.01},
                }
            ],
        },
    }
    out = run_cli([], config, tmp_path, env=DEBUG)
    assert out.returncode == 1
    assert f"request to http://127.0.0.1:{port}/r failed after 2 attempts: connection refused" in out.stderr
    assert_no_canary(out)


def test_canary_absent_with_http_basic_and_invalid_config(sandbox, tmp_path):
    config = {
        "secrets": {"pw": CANARY},
        "source": {
            "client": {
                "base_url": sandbox.base_url("learning"),
                "auth": {"type": "http_basic", "username": "user", "password": "{{ secrets.pw }}"},
            },
            "resources": [
                {"name": "r", "endpoint": {"path": "/v1/users", "data_selector": "items", "paginator": {"type": "pages"}}}
            ],
        },
    }
    out = run_cli(["--discover"], config, tmp_path, env=DEBUG)
    assert out.returncode == 1
    assert_no_canary(out)
    config["source"]["resources"][0]["endpoint"]["paginator"] = "single_page"
    out = run_cli([], config, tmp_path, env=DEBUG)  # the sandbox refuses Basic: 401
    assert out.returncode == 1 and "refused the credentials" in out.stderr
    assert_no_canary(out)


def _fast_social(sandbox) -> dict:
    return {
        "client": {
            "base_url": sandbox.base_url("social_insights"),
            "auth": {"type": "api_key", "name": "api_key", "api_key": "{{ secrets.api_key }}", "location": "query"},
        },
        "resource_defaults": {"error_handler": {"max_retries": 2, "backoff_factor": 0.01}},
        "resources": [
            {
                "name": "media",
                "primary_key": "id",
                "endpoint": {"path": "/v1/media", "data_selector": "data", "paginator": {"type": "offset", "limit": 100}},
            }
        ],
    }
