"""The auth types that renew their credential, through the tap and its CLI against loopback servers: the OAuth2
refresh-token grant with rotating refresh tokens and the token store (a run killed right after a rotation, then a
run that works), session-token login, JWT, selective and per-resource auth."""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import subprocess
import sys
import threading

import jwt
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support import CANARY, assert_no_canary, run_cli, sync, sync_until_error
from tests.transport.oauth_server import RotatingTokenEndpoint

SCHEMA = {"properties": {"id": {"type": "integer"}}}


@pytest.fixture
def other_origin():
    """The token or login endpoint's own origin (another port of 127.0.0.1)."""
    server = HTTPServer(host="127.0.0.1")
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def oauth_auth(token_url: str, **extra: object) -> dict:
    return {
        "type": "oauth2_refresh_token",
        "access_token_url": token_url,
        "client_id": "cid",
        "client_secret": "{{ secrets.client_secret }}",
        "refresh_token": "{{ secrets.refresh_token }}",
        "scopes": ["read", "write"],
        **extra,
    }


def config(api: HTTPServer, auth: dict, tmp_path, resources: list | None = None, **settings: object) -> dict:
    return {
        "secrets": {"client_secret": CANARY, "refresh_token": "rt-0", "jwt_key": JWT_KEY},
        "token_store": str(tmp_path / "store" / "tokens.json"),
        "source": {
            "client": {"base_url": api.url_for("/api"), "auth": auth},
            "resources": resources
            or [{"name": "items", "schema": SCHEMA, "endpoint": {"path": "items", "paginator": "single_page"}}],
        },
        **settings,
    }


class Api:
    """Pages of one record each (``?page=N``, N = 1..pages), for requests whose Authorization ``accepts`` says is
    valid (else 401); ``seen`` holds (page, Authorization) per request."""

    def __init__(self, pages: int = 3, accepts=lambda header: True):
        self.pages = pages
        self.accepts = accepts
        self.seen: list[tuple[int, str | None]] = []

    def __call__(self, request: Request) -> Response:
        page = int(request.args.get("page", 1))
        header = request.headers.get("Authorization")
        self.seen.append((page, header))
        if not self.accepts(header):
            return Response(json.dumps({"error": "expired"}), 401, content_type="application/json")
        body = {"data": [{"id": page}], "next": f"{request.base_url}?page={page + 1}" if page < self.pages else None}
        return Response(json.dumps(body), 200, content_type="application/json")


def paged(name: str = "items", **endpoint: object) -> dict:
    paginator = {"type": "json_link", "next_url_path": "next"}
    return {"name": name, "schema": SCHEMA, "endpoint": {"path": "items", "paginator": paginator, **endpoint}}


# ---------------------------------------------------------------------------------------------- OAuth2 refresh token


def test_the_refresh_token_grant_goes_to_its_own_origin_and_a_401_renews_the_token_for_the_same_page(
    httpserver, other_origin, tmp_path
):
    tokens = RotatingTokenEndpoint("rt-0")
    other_origin.expect_request("/oauth/token", method="POST").respond_with_handler(tokens)
    # at-1 expires on the server after two pages: page 3 is refused once, then sent again with at-2
    api = Api(pages=3, accepts=lambda header: header == "Bearer at-2" or (header == "Bearer at-1" and len(api.seen) < 3))
    httpserver.expect_request("/api/items").respond_with_handler(api)
    cfg = config(httpserver, oauth_auth(other_origin.url_for("/oauth/token")), tmp_path, [paged()])
    out = sync(cfg)
    assert out.ids("items") == [1, 2, 3]
    assert api.seen == [(1, "Bearer at-1"), (2, "Bearer at-1"), (3, "Bearer at-1"), (3, "Bearer at-2")]
    first, second = tokens.requests
    assert first == {
        "grant_type": "refresh_token",
        "client_id": "cid",
        "client_secret": CANARY,
        "refresh_token": "rt-0",
        "scope": "read write",
    }
    assert second["refresh_token"] == "rt-1"  # the rotated one, the old one being revoked
    # the client secret and refresh tokens went only to the token endpoint's origin
    for request, _ in httpserver.log:
        assert CANARY not in request.url and CANARY not in str(request.headers) and not request.get_data()
    store = tmp_path / "store" / "tokens.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert [entry["refresh_token"] for entry in json.loads(store.read_text())["entries"].values()] == ["rt-2"]


def test_all_streams_share_one_token_and_a_resource_may_override_the_clients_auth(httpserver, other_origin, tmp_path):
    tokens = RotatingTokenEndpoint("rt-0")
    other_origin.expect_request("/oauth/token", method="POST").respond_with_handler(tokens)
    api = Api(pages=2)
    httpserver.expect_request("/api/items").respond_with_handler(api)
    resources = [
        paged("first"),
        paged("second"),
        paged("third", auth={"type": "bearer", "token": "{{ secrets.client_secret }}"}),
    ]
    out = sync(config(httpserver, oauth_auth(other_origin.url_for("/oauth/token")), tmp_path, resources, max_concurrency=4))
    assert [out.ids(name) for name in ("first", "second", "third")] == [[1, 2]] * 3
    assert len(tokens.requests) == 1  # one token for every stream and thread of the run
    assert sorted(header for _, header in api.seen) == ["Bearer at-1"] * 4 + [f"Bearer {CANARY}"] * 2


def test_a_refused_refresh_token_is_one_line_naming_the_token_url(httpserver, other_origin, tmp_path):
    tokens = RotatingTokenEndpoint("another")
    other_origin.expect_request("/oauth/token", method="POST").respond_with_handler(tokens)
    out = run_cli([], config(httpserver, oauth_auth(other_origin.url_for("/oauth/token")), tmp_path), tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        f"tap-restgeneric: error: OAuth2 token request to {other_origin.url_for('/oauth/token')}: HTTP 400: the refresh "
        "token (from config) was refused; authorise again and put the new refresh token in the config "
        "(invalid_grant token revoked)"
    )


def test_killed_right_after_a_rotation_the_next_run_starts_from_the_stored_token(httpserver, other_origin, tmp_path):
    """The provider revokes the config's refresh token at the first refresh: the run is killed (SIGKILL) as its first
    API request arrives, right after the rotation; the second run works, from the token the first one stored."""
    tokens = RotatingTokenEndpoint(CANARY)
    other_origin.expect_request("/oauth/token", method="POST").respond_with_handler(tokens)
    arrived, release = threading.Event(), threading.Event()

    def api(request: Request) -> Response:
        if request.headers.get("Authorization") == "Bearer at-1":  # the first run's token: hold it until killed
            arrived.set()
            release.wait(60)
            return Response("", 503)
        return Response(json.dumps({"data": [{"id": 1}, {"id": 2}]}), 200, content_type="application/json")

    httpserver.expect_request("/api/items").respond_with_handler(api)
    cfg = config(httpserver, oauth_auth(other_origin.url_for("/oauth/token")), tmp_path)
    cfg["secrets"]["refresh_token"] = CANARY
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    argv = [sys.executable, "-c", "from tap_restgeneric.cli import main; main()", "--config", str(tmp_path / "config.json")]
    first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert arrived.wait(60), "the first run's request never came"
        os.kill(first.pid, signal.SIGKILL)
        stdout, stderr = first.communicate(timeout=60)
    finally:
        release.set()
    assert first.returncode == -signal.SIGKILL
    assert_no_canary(stdout, stderr)
    assert CANARY not in tokens.live  # revoked by the rotation

    second = run_cli([], cfg, tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.ids("items") == [1, 2]
    assert [form["refresh_token"] for form in tokens.requests] == [CANARY, "rt-1"]
    store = (tmp_path / "store" / "tokens.json").read_text()
    assert "rt-2" in store and CANARY not in store
    everything = stdout + stderr + second.stdout + second.stderr  # type: ignore[attr-defined]
    for token in ("rt-1", "rt-2", "at-1", "at-2"):
        assert token not in everything


# ---------------------------------------------------------------------------------------------- session login


def test_session_login_logs_in_again_on_a_401_without_losing_the_page(httpserver, other_origin, tmp_path):
    logins: list[dict] = []

    def login(request: Request) -> Response:
        logins.append(request.get_json())
        return Response(json.dumps({"session": {"token": f"s-{len(logins)}"}}), 200, content_type="application/json")

    other_origin.expect_request("/login", method="POST").respond_with_handler(login)
    api = Api(pages=3, accepts=lambda header: header == "s-2" or (header == "s-1" and len(api.seen) < 3))
    httpserver.expect_request("/api/items").respond_with_handler(api)
    auth = {
        "type": "session_login",
        "login_url": other_origin.url_for("/login"),
        "login_body_json": {"user": "me", "password": "{{ secrets.client_secret }}"},
        "session_token_path": "session.token",
        "inject_into": "header",
        "field_name": "Authorization",
    }
    out = sync(config(httpserver, auth, tmp_path, [paged()]))
    assert out.ids("items") == [1, 2, 3]
    assert logins == [{"user": "me", "password": CANARY}] * 2
    assert api.seen == [(1, "s-1"), (2, "s-1"), (3, "s-1"), (3, "s-2")]


def test_a_session_login_without_its_token_is_one_line(httpserver, other_origin, tmp_path):
    other_origin.expect_request("/login", method="POST").respond_with_json({"other": 1})
    auth = {"type": "session_login", "login_url": other_origin.url_for("/login"), "session_token_header": "X-Session"}
    out = run_cli([], config(httpserver, auth, tmp_path), tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        f"tap-restgeneric: error: session login to {other_origin.url_for('/login')}: HTTP 200 but the response has no "
        "header X-Session"
    )


# ---------------------------------------------------------------------------------------------- JWT and selective


#: An HS256 key of 32 bytes or more, as RFC 7518 asks (PyJWT warns below), holding the canary.
JWT_KEY = f"{CANARY}-long-enough-for-hs256"
JWT_AUTH = {
    "type": "jwt",
    "secret_key": "{{ secrets.jwt_key }}",
    "algorithm": "HS256",
    "token_duration": 600,
    "header_prefix": "Bearer",
    "jwt_headers": {"kid": "k1"},
    "jwt_payload": {"iss": "tap", "aud": "api"},
    "additional_jwt_payload": {"scope": "read"},
}


def test_a_jwt_signed_with_the_secret_and_its_claims(httpserver, tmp_path):
    httpserver.expect_request("/api/items").respond_with_json({"data": [{"id": 1}]})
    out = sync(config(httpserver, JWT_AUTH, tmp_path))
    assert out.ids("items") == [1]
    header = httpserver.log[0][0].headers["Authorization"]
    assert header.startswith("Bearer ")
    token = header.removeprefix("Bearer ")
    claims = jwt.decode(token, JWT_KEY, algorithms=["HS256"], audience="api")
    assert {k: claims[k] for k in ("iss", "aud", "scope")} == {"iss": "tap", "aud": "api", "scope": "read"}
    assert claims["exp"] - claims["iat"] == 600
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "k1"}


SELECTIVE = {
    "type": "selective",
    "authenticator_selection_path": ["credentials", "method"],
    "authenticators": {
        "jwt": JWT_AUTH,
        "key": {"type": "api_key", "name": "X-Key", "api_key": "{{ secrets.api_key }}"},
    },
}


@pytest.mark.parametrize("method", ["jwt", "key"])
def test_selective_auth_uses_the_method_the_config_names(httpserver, tmp_path, method):
    httpserver.expect_request("/api/items").respond_with_json({"data": [{"id": 1}]})
    cfg = config(httpserver, SELECTIVE, tmp_path, credentials={"method": method})
    if method == "key":  # only the chosen method's secrets need to be set
        cfg["secrets"] = {"api_key": CANARY}
    assert sync(cfg).ids("items") == [1]
    headers = httpserver.log[0][0].headers
    if method == "jwt":
        assert headers["Authorization"].startswith("Bearer ey") and "X-Key" not in headers
    else:
        assert headers["X-Key"] == CANARY and "Authorization" not in headers


def test_selective_auth_naming_no_method_is_a_config_error_with_the_valid_names(httpserver, tmp_path):
    out, error = sync_until_error(config(httpserver, SELECTIVE, tmp_path, credentials={"method": "oauth"}))
    assert str(error) == "client.auth: credentials.method is 'oauth', which names none of the authenticators: jwt, key"
    assert not httpserver.log
    assert not out.messages


def test_the_doctor_says_which_auth_when_its_token_expires_and_which_budget(httpserver, other_origin, tmp_path):
    tokens = RotatingTokenEndpoint("rt-0", expires_in=None, extra={"expires_at": "2031-01-02T03:04:05Z"})
    other_origin.expect_request("/oauth/token", method="POST").respond_with_handler(tokens)
    headers = {"X-RateLimit-Remaining": "7", "X-RateLimit-Limit": "10", "X-RateLimit-Reset": "1924916645"}
    httpserver.expect_request("/api/items").respond_with_json({"data": [{"id": 1}]}, headers=headers)
    auth = oauth_auth(
        other_origin.url_for("/oauth/token"), expires_in_name="expires_at", token_expiry_date_format="%Y-%m-%dT%H:%M:%SZ"
    )
    cfg = config(httpserver, auth, tmp_path)
    budget = {
        "type": "fixed_window",
        "call_limit": 5,
        "period": "PT1H",
        "matchers": [{"method": "GET", "url_path_pattern": "/items$"}],
    }
    cfg["source"]["client"]["api_budget"] = {"policies": [budget]}
    out = run_cli(["--doctor"], cfg, tmp_path)
    assert out.returncode == 0, out.stdout
    store = tmp_path / "store" / "tokens.json"
    assert out.stdout.strip().splitlines()[1:] == [
        f"    auth: oauth2 (refresh_token), token expires 2031-01-02T03:04:05Z, refresh token from rotated in this run (stored in {store})",
        f"    rate limit of http://localhost:{httpserver.port}: X-RateLimit-* remaining 7, resets 2030-12-31T03:04:05Z",
        "    api_budget policy 1: 5 calls per 3600 s (fixed window) for GET /items$: 4 calls left",
    ]


def test_a_recording_holds_no_token_and_its_replay_leaves_the_token_store_alone(httpserver, other_origin, tmp_path):
    tokens = RotatingTokenEndpoint("rt-0")
    other_origin.expect_request("/oauth/token", method="POST").respond_with_handler(tokens)
    httpserver.expect_request("/api/items").respond_with_handler(Api(pages=2))
    cfg = config(httpserver, oauth_auth(other_origin.url_for("/oauth/token")), tmp_path, [paged()])
    recorded = sync({**cfg, "record_dir": str(tmp_path / "rec")})
    store = tmp_path / "store" / "tokens.json"
    stored = store.read_text()
    files = [path for path in (tmp_path / "rec").rglob("*") if path.is_file()]
    assert files
    for path in files:
        text = path.read_text()
        for secret in (CANARY, "rt-0", "rt-1", "at-1"):
            assert secret not in text, f"{secret} in {path.name}"
    replayed = sync({**cfg, "replay_dir": str(tmp_path / "rec")})
    assert replayed.ids("items") == recorded.ids("items") == [1, 2]
    assert store.read_text() == stored
    assert len(tokens.requests) == 1


def test_client_credentials_as_basic_extra_fields_and_a_token_at_a_path(httpserver, other_origin, tmp_path):
    seen: list[tuple[str | None, dict]] = []

    def token(request: Request) -> Response:
        seen.append((request.headers.get("Authorization"), dict(request.form)))
        body = {"data": {"token": "at-path", "lifetime": 3600}}
        return Response(json.dumps(body), 200, content_type="application/json")

    other_origin.expect_request("/oauth/token", method="POST").respond_with_handler(token)
    httpserver.expect_request("/api/items").respond_with_json({"data": [{"id": 1}]})
    auth = oauth_auth(
        other_origin.url_for("/oauth/token"),
        client_auth_method="client_secret_basic",
        access_token_request_data={"audience": "api"},
        access_token_name="data.token",
        expires_in_name=["data", "lifetime"],
        scopes="read",
    )
    assert sync(config(httpserver, auth, tmp_path)).ids("items") == [1]
    basic = "Basic " + base64.b64encode(f"cid:{CANARY}".encode()).decode()
    assert seen == [(basic, {"grant_type": "refresh_token", "refresh_token": "rt-0", "scope": "read", "audience": "api"})]
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer at-path"
