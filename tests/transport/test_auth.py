"""Each auth type and location, asserted on the request the server saw."""

from __future__ import annotations

import base64
import json

import pytest
from werkzeug import Response

from tests.support import CANARY, preset_config, sync

SCHEMA = {"properties": {"id": {"type": "integer"}}}


def source(httpserver, auth: dict, path: str = "/items", **extra) -> dict:
    return {
        "secrets": {"key": CANARY},
        "source": {
            "client": {"base_url": httpserver.url_for("/api"), "auth": auth},
            "resources": [{"name": "items", "schema": SCHEMA, "endpoint": {"path": path, "paginator": "single_page"} | extra}],
        },
    }


def ok(httpserver, path="/api/items"):
    httpserver.expect_request(path).respond_with_json({"data": [{"id": 1}]})


@pytest.mark.parametrize(
    ("api", "where", "name"),
    [
        ("learning", "header", "api_key"),
        ("certifications", "header", "authorization"),
        ("social_insights", "query", "api_key"),
        ("incidents", "header", "api_key"),
        ("operations", "header", "api_key"),
    ],
)
def test_preset_auth_reaches_the_sandbox_where_the_seed_says(sandbox, api, where, name):
    sync(preset_config(sandbox, api))
    seen = [r for r in sandbox.requests if r.path.startswith(f"/{api}/")]
    assert seen, "no request reached the sandbox"
    expected = f"Bearer {CANARY}" if api == "certifications" else CANARY
    for request in seen:
        if where == "header":
            assert request.headers[name] == expected
            assert "api_key" not in request.query
        else:
            assert request.query[name] == [expected]
            assert "api_key" not in request.headers


def test_api_key_in_cookie(httpserver):
    ok(httpserver)
    sync(source(httpserver, {"type": "api_key", "name": "session", "api_key": "{{ secrets.key }}", "location": "cookie"}))
    request, _ = httpserver.log[0]
    assert request.cookies["session"] == CANARY


@pytest.mark.parametrize("location", ["query", "param"])
def test_api_key_in_the_query_string_and_dlts_param_alias(httpserver, location):
    ok(httpserver)
    sync(source(httpserver, {"type": "api_key", "name": "api_key", "api_key": "{{ secrets.key }}", "location": location}))
    request, _ = httpserver.log[0]
    assert request.args.getlist("api_key") == [CANARY]
    assert "api_key" not in request.headers


def test_api_key_defaults_to_authorization_header(httpserver):
    ok(httpserver)
    sync(source(httpserver, {"type": "api_key", "api_key": "{{ secrets.key }}"}))
    assert httpserver.log[0][0].headers["Authorization"] == CANARY


def test_http_basic(httpserver):
    ok(httpserver)
    sync(source(httpserver, {"type": "http_basic", "username": "user", "password": "{{ secrets.key }}"}))
    expected = "Basic " + base64.b64encode(f"user:{CANARY}".encode()).decode()
    assert httpserver.log[0][0].headers["Authorization"] == expected


@pytest.mark.parametrize("method", [None, "client_secret_post", "client_secret_basic"])
def test_oauth2_client_credentials_fetches_a_token_then_sends_it(httpserver, method):
    """The client id and secret go in the form body, as dlt 1.31 sends them; or as HTTP Basic."""
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json({"access_token": "tok-123456", "expires_in": 3600})
    ok(httpserver)
    auth = {
        "type": "oauth2_client_credentials",
        "access_token_url": httpserver.url_for("/oauth/token"),
        "client_id": "cid",
        "client_secret": "{{ secrets.key }}",
        "access_token_request_data": {"scope": "read"},
    }
    if method:
        auth["client_auth_method"] = method
    sync(source(httpserver, auth))
    token_request, data_request = (r for r, _ in httpserver.log)
    if method == "client_secret_basic":
        assert token_request.headers["Authorization"] == "Basic " + base64.b64encode(f"cid:{CANARY}".encode()).decode()
        assert dict(token_request.form) == {"grant_type": "client_credentials", "scope": "read"}
    else:
        assert "Authorization" not in token_request.headers
        assert dict(token_request.form) == {
            "grant_type": "client_credentials",
            "scope": "read",
            "client_id": "cid",
            "client_secret": CANARY,
        }
    assert data_request.headers["Authorization"] == "Bearer tok-123456"


def test_endpoint_auth_replaces_the_clients_and_token_alone_is_bearer(httpserver):
    httpserver.expect_request("/api/items").respond_with_json([{"id": 1}])
    httpserver.expect_request("/api/other").respond_with_json([{"id": 2}])
    config = {
        "secrets": {"key": CANARY, "other": "other-token"},
        "source": {
            "client": {"base_url": httpserver.url_for("/api"), "auth": {"token": "{{ secrets.key }}"}},
            "resources": [
                "items",
                {
                    "name": "other",
                    "endpoint": {"path": "other", "auth": {"type": "api_key", "name": "X-Key", "api_key": "{{ secrets.other }}"}},
                },
            ],
        },
    }
    out = sync(config)
    assert out.ids("items") == [1] and out.ids("other") == [2]
    sent = {request.path: request.headers for request, _ in httpserver.log}
    assert sent["/api/items"]["Authorization"] == f"Bearer {CANARY}"
    assert "Authorization" not in sent["/api/other"] and sent["/api/other"]["X-Key"] == "other-token"


def test_credentials_are_not_sent_to_another_host(httpserver):
    """A next link to another host (127.0.0.1 vs localhost) is requested without credentials."""
    base = httpserver.url_for("/api")
    other_host = "127.0.0.1" if "localhost" in base else "localhost"
    other = httpserver.url_for("/api/items").replace(base.split("//")[1].split(":")[0], other_host) + "?page=2"

    def handler(request):
        if request.args.get("page") == "2":
            return Response(json.dumps({"data": [{"id": 2}], "next": None}), content_type="application/json")
        return Response(json.dumps({"data": [{"id": 1}], "next": other}), content_type="application/json")

    httpserver.expect_request("/api/items").respond_with_handler(handler)
    out = sync(source(httpserver, {"type": "bearer", "token": "{{ secrets.key }}"}, paginator={"type": "json_link"}))
    assert out.ids("items") == [1, 2]
    first, second = (r for r, _ in httpserver.log)
    assert first.headers["Authorization"] == f"Bearer {CANARY}"
    assert second.host.startswith(other_host) and "Authorization" not in second.headers
