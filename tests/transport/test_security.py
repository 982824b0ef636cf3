"""Credentials stay with their origin, secrets stay redacted, and no input can exhaust the tap.

Every test talks to real listeners on loopback (``tests/listeners.py``): the API on
127.0.0.1, a foreign origin on another port of 127.0.0.1 or on 127.0.0.2, and a TLS
listener (test CA from trustme) that also speaks plain HTTP on the same port.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import socket
import sys
import tempfile
import zlib
from pathlib import Path

import pytest
import trustme

from tap_restgeneric.errors import StreamError
from tests.listeners import Listener, Reply, Request
from tests.support import CANARY, CANARY_FORMS, last_line, run_cli, sync

TOKEN = "tok-Acc3ss-T0ken-9f8e7d"  # what the OAuth2 token endpoint hands out
FORBIDDEN = (*CANARY_FORMS, base64.b64encode(f"cid:{CANARY}".encode()).decode(), TOKEN)
SCHEMA = {"properties": {"id": {"type": "integer"}}}

AUTHS = {
    "api_key_header": {"auth": {"type": "api_key", "name": "X-API-Key", "api_key": "{{ secrets.key }}"}},
    "api_key_query": {"auth": {"type": "api_key", "name": "api_key", "api_key": "{{ secrets.key }}", "location": "query"}},
    "api_key_cookie": {"auth": {"type": "api_key", "name": "session", "api_key": "{{ secrets.key }}", "location": "cookie"}},
    "bearer": {"auth": {"type": "bearer", "token": "{{ secrets.key }}"}},
    "http_basic": {"auth": {"type": "http_basic", "username": "user", "password": "{{ secrets.key }}"}},
    "oauth2": {
        "auth": {
            "type": "oauth2_client_credentials",
            "access_token_url": "{api}/api/token",
            "client_id": "cid",
            "client_secret": "{{ secrets.key }}",
        }
    },
    "oauth2_refresh_token": {
        "auth": {
            "type": "oauth2_refresh_token",
            "access_token_url": "{api}/api/token",
            "client_id": "cid",
            "client_secret": "{{ secrets.key }}",
            "refresh_token": "{{ secrets.key }}",
        }
    },
    "session_login": {
        "auth": {
            "type": "session_login",
            "login_url": "{api}/api/token",
            "login_body_json": {"user": "me", "password": "{{ secrets.key }}"},
            "session_token_path": "access_token",
            "inject_into": "bearer",
        }
    },
    "client_headers": {"headers": {"X-Api-Key": "{{ secrets.key }}"}},
    "endpoint_headers": {"endpoint": {"headers": {"X-Api-Key": "{{ secrets.key }}"}}},
    "endpoint_params": {"endpoint": {"params": {"key": "{{ secrets.key }}"}}},
    "json_body": {"endpoint": {"method": "POST", "json": {"key": "{{ secrets.key }}", "q": 1}}},
}
HOPS = ["next_link", 301, 302, 303, 307, 308]


def leaked(data: bytes) -> list[str]:
    text = data.decode("latin-1")
    return sorted({form for form in FORBIDDEN if form in text})


def config_for(api: Listener, kind: str, paginator: object = "json_link", **settings: object) -> dict:
    spec = json.loads(json.dumps(AUTHS[kind]).replace("{api}", api.url()))
    client = {"base_url": api.url("/api")}
    if "auth" in spec:
        client["auth"] = spec["auth"]
    if kind == "oauth2_refresh_token":  # the token store of the run, not the user's
        settings.setdefault("token_store", str(Path(tempfile.mkdtemp(prefix="tap-restgeneric-test-")) / "tokens.json"))
    if "headers" in spec:
        client["headers"] = spec["headers"]
    endpoint = {"path": "items", "data_selector": "data", "paginator": paginator, **spec.get("endpoint", {})}
    return {
        "secrets": {"key": CANARY},
        **settings,
        "source": {
            "client": client,
            "resource_defaults": {"error_handler": {"max_retries": 1, "backoff_factor": 0.01}},
            "resources": [{"name": "items", "primary_key": "id", "schema": SCHEMA, "endpoint": endpoint}],
        },
    }


def api_responder(foreign_url: str, hop: object):
    """The API: a token endpoint, and /api/items that sends the client to ``foreign_url``."""

    def respond(request: Request) -> Reply:
        if request.path == "/api/token":
            return Reply(200, {"access_token": TOKEN, "token_type": "bearer", "expires_in": 3600})
        query = request.target.partition("?")[2]
        target = f"{foreign_url}?page=2" + (f"&{query}" if query else "")  # the API echoes its query onwards
        if hop == "next_link":
            return Reply(200, {"data": [{"id": 1}], "next": target})
        return Reply(int(hop), b"", {"Location": target, "Content-Length": "0"})

    return respond


def foreign_responder(request: Request) -> Reply:
    return Reply(200, {"data": [{"id": 2}]})


@pytest.fixture(params=["other_port", "other_address"])
def foreign(request):
    host = "127.0.0.1" if request.param == "other_port" else "127.0.0.2"
    with Listener(host, foreign_responder) as listener:
        yield listener


@pytest.mark.parametrize("hop", HOPS)
@pytest.mark.parametrize("kind", list(AUTHS))
def test_no_form_of_a_credential_reaches_another_origin(kind, hop, foreign):
    with Listener("127.0.0.1", api_responder(foreign.url("/items"), hop)) as api:
        config = config_for(api, kind)
        refused = kind == "json_body" and hop in ("next_link", 307, 308)
        if refused:  # the request would resend the body, which holds the secret
            with pytest.raises(
                StreamError,
                match=r"^stream 'items': not sending the request body to http://127\.0\.0\.\d:\d+, "
                r"another origin than http://127\.0\.0\.1:\d+: it holds credentials$",
            ):
                sync(config)
        else:
            out = sync(config)
            assert out.ids("items") == ([1, 2] if hop == "next_link" else [2])
        data_requests = [r for r in api.requests if r.path == "/api/items"]
        assert data_requests and leaked(data_requests[0].raw), "the API itself should have received the credential"
        assert leaked(foreign.raw) == [], f"{kind} leaked to {foreign.url()} via {hop}"
        assert len(foreign.requests) == (0 if refused else 1)
        if not refused:
            assert foreign.requests[0].method == ("POST" if kind == "json_body" and hop in (307, 308) else "GET")
            assert "page=2" in foreign.requests[0].target  # the rest of the URL is kept


def test_a_redirect_back_to_the_origin_gets_the_credentials_again():
    def respond(request: Request) -> Reply:
        if request.path == "/api/items":
            return Reply(302, b"", {"Location": "/api/moved", "Content-Length": "0"})
        return Reply(200, {"data": [{"id": 7}]})

    with Listener("127.0.0.1", respond) as api:
        out = sync(config_for(api, "api_key_header", paginator="single_page"))
    assert out.ids("items") == [7]
    assert [r.path for r in api.requests] == ["/api/items", "/api/moved"]
    assert all(r.headers["x-api-key"] == CANARY for r in api.requests)


def test_a_foreign_hop_is_logged_once_at_info_without_its_query(tmp_path):
    with (
        Listener(
            "127.0.0.2",
            lambda r: Reply(
                200,
                {
                    "data": [{"id": int(r.query["page"][0])}],
                    "next": None if r.query["page"] == ["3"] else f"/items?page={int(r.query['page'][0]) + 1}&sig=s3cr3tsig",
                },
            ),
        ) as foreign,
        Listener("127.0.0.1", api_responder(foreign.url("/items"), "next_link")) as api,
    ):
        out = run_cli([], config_for(api, "bearer"), tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.ids("items") == [1, 2, 3]
    lines = [line for line in out.stderr.splitlines() if "another origin" in line]
    assert len(lines) == 1
    assert "INFO" in lines[0] and f"stream 'items': {foreign.url('/items')} is another origin than {api.url()}" in lines[0]
    assert "?" not in lines[0] and "sig" not in lines[0]


# ---------------------------------------------------------------- https and scheme downgrade


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def ca_file(ca, tmp_path):
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def clean_tls_env(monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("hop", ["next_link", 301, 302, 307, 308])
@pytest.mark.parametrize("kind", list(AUTHS))
def test_https_to_http_on_the_same_host_and_port_carries_no_credential(kind, hop, ca, ca_file, clean_tls_env):
    clean_tls_env.setenv("REQUESTS_CA_BUNDLE", ca_file)
    holder: dict = {}
    respond_api = None

    def respond(request: Request) -> Reply:
        if not request.tls:
            return Reply(200, {"data": [{"id": 2}]})
        return respond_api(request)

    with Listener("127.0.0.1", respond, tls=ca) as listener:
        respond_api = api_responder(listener.url("/items", scheme="http"), hop)
        holder["config"] = config_for(listener, kind)
        refused = kind == "json_body" and hop in ("next_link", 307, 308)
        if refused:
            with pytest.raises(StreamError, match="it holds credentials"):
                sync(holder["config"])
        else:
            assert sync(holder["config"]).ids("items") == ([1, 2] if hop == "next_link" else [2])
        secure = [r for r in listener.requests if r.tls]
        plain = [r for r in listener.requests if not r.tls]
    assert secure and leaked(secure[-1].raw)
    assert len(plain) == (0 if refused else 1)
    assert leaked(b"".join(r.raw for r in plain)) == []


def test_a_custom_ca_bundle_from_the_environment_is_trusted(ca, ca_file, clean_tls_env):
    for variable in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        clean_tls_env.delenv("REQUESTS_CA_BUNDLE", raising=False)
        clean_tls_env.setenv(variable, ca_file)
        with Listener("127.0.0.1", lambda r: Reply(200, {"data": [{"id": 5}]}), tls=ca) as api:
            assert sync(config_for(api, "bearer", paginator="single_page")).ids("items") == [5], variable
        clean_tls_env.delenv(variable)


def test_an_untrusted_certificate_is_one_line_naming_host_and_reason(ca, clean_tls_env, tmp_path):
    with Listener("127.0.0.1", lambda r: Reply(200, {"data": [{"id": 5}]}), tls=ca) as api:
        out = run_cli(
            [],
            config_for(api, "bearer", paginator="single_page"),
            tmp_path,
            env={"REQUESTS_CA_BUNDLE": "", "SSL_CERT_FILE": "", "CURL_CA_BUNDLE": "", "SSL_CERT_DIR": ""},
        )
        assert api.requests == []  # the handshake failed: no request was sent
    assert out.returncode == 1
    assert last_line(out.stderr).startswith(
        f"tap-restgeneric: error: stream 'items': TLS error with {api.url()}: certificate verify failed"
    )
    assert last_line(out.stderr).endswith("(for a private CA, set REQUESTS_CA_BUNDLE or SSL_CERT_FILE to its bundle)")
    assert "Traceback" not in out.stderr


# ---------------------------------------------------------------- proxies


def test_proxy_variables_apply_and_are_read_once_per_origin(monkeypatch):
    import tap_restgeneric.transport.origins as transport

    reads: list[str] = []
    original = transport.get_environ_proxies
    monkeypatch.setattr(transport, "get_environ_proxies", lambda url, no_proxy=None: reads.append(url) or original(url, no_proxy))

    def proxy(request: Request) -> Reply:
        page = int(request.query.get("page", ["1"])[0])
        return Reply(
            200, {"data": [{"id": page}], "next": None if page == 3 else f"http://127.0.0.2:9/api/items?page={page + 1}"}
        )

    with Listener("127.0.0.1", proxy) as forward_proxy:
        monkeypatch.setenv("HTTP_PROXY", forward_proxy.url())
        monkeypatch.setenv("NO_PROXY", "localhost")
        config = {
            "source": {
                "client": {"base_url": "http://127.0.0.2:9/api"},
                "resources": [{"name": "items", "schema": SCHEMA, "endpoint": {"path": "items", "paginator": "json_link"}}],
            }
        }
        out = sync(config)
    assert out.ids("items") == [1, 2, 3]
    assert [r.target for r in forward_proxy.requests] == [
        "http://127.0.0.2:9/api/items",
        "http://127.0.0.2:9/api/items?page=2",
        "http://127.0.0.2:9/api/items?page=3",
    ]
    assert reads == ["http://127.0.0.2:9"]


def test_no_proxy_sends_the_request_directly(monkeypatch):
    with (
        Listener("127.0.0.1", lambda r: Reply(500, {})) as forward_proxy,
        Listener("127.0.0.2", lambda r: Reply(200, {"data": [{"id": 4}]})) as api,
    ):
        monkeypatch.setenv("HTTP_PROXY", forward_proxy.url())
        monkeypatch.setenv("NO_PROXY", "127.0.0.2")
        out = sync(config_for(api, "bearer", paginator="single_page"))
        assert out.ids("items") == [4]
        assert forward_proxy.requests == [] and len(api.requests) == 1


# ---------------------------------------------------------------- OAuth2


def oauth_config(api_url: str, token_url: str, **settings: object) -> dict:
    return {
        "secrets": {"key": CANARY},
        **settings,
        "source": {
            "client": {
                "base_url": f"{api_url}/api",
                "auth": {
                    "type": "oauth2_client_credentials",
                    "access_token_url": token_url,
                    "client_id": "cid",
                    "client_secret": "{{ secrets.key }}",
                },
                "error_handler": {"max_retries": 1, "backoff_factor": 0.01},
            },  # the token request's retry policy
            "resources": [
                {
                    "name": "items",
                    "schema": SCHEMA,
                    "endpoint": {"path": "items", "data_selector": "data", "paginator": "single_page"},
                }
            ],
        },
    }


def echo(request: Request, status: int) -> Reply:
    """An endpoint that echoes what it received, as some misconfigured servers do."""
    return Reply(
        status, {"error": "denied", "authorization": request.headers.get("authorization"), "body": request.body.decode()}
    )


def test_oauth2_refused_client_credentials_are_one_line_with_no_echo_of_the_secret(tmp_path):
    with Listener("127.0.0.1", lambda r: echo(r, 401)) as auth_server:
        out = run_cli(
            [], oauth_config(auth_server.url(), auth_server.url("/token")), tmp_path, env={"TAP_RESTGENERIC_LOG_LEVEL": "DEBUG"}
        )
    assert out.returncode == 1
    line = last_line(out.stderr)
    assert line.startswith(
        f"tap-restgeneric: error: OAuth2 token request to {auth_server.url('/token')}: "
        "HTTP 401 Unauthorized: the token endpoint refused the client credentials ("
    )
    assert "***REDACTED***" in line  # the echoed Basic header and form body, masked
    assert "Failed to update access token" not in out.stderr  # the SDK's own log line
    assert len(auth_server.requests) == 1  # 401 is not retried


def test_oauth2_access_token_is_redacted_everywhere(tmp_path):
    def respond(request: Request) -> Reply:
        if request.path == "/token":
            return Reply(200, {"access_token": TOKEN, "expires_in": 3600})
        return echo(request, 404)

    with Listener("127.0.0.1", respond) as api:
        out = run_cli([], oauth_config(api.url(), api.url("/token")), tmp_path, env={"TAP_RESTGENERIC_LOG_LEVEL": "DEBUG"})
    assert out.returncode == 1
    assert api.requests[1].headers["authorization"] == f"Bearer {TOKEN}"
    assert "HTTP 404" in last_line(out.stderr) and "Bearer ***REDACTED***" in last_line(out.stderr)
    assert TOKEN not in out.stdout + out.stderr


def test_oauth2_token_request_is_retried_on_5xx(tmp_path):
    answers = iter([Reply(503, {"error": "busy"}), Reply(200, {"access_token": TOKEN, "expires_in": 3600})])

    def respond(request: Request) -> Reply:
        return next(answers) if request.path == "/token" else Reply(200, {"data": [{"id": 1}]})

    with Listener("127.0.0.1", respond) as api:
        out = sync(oauth_config(api.url(), api.url("/token")))
    assert out.ids("items") == [1]
    assert [r.path for r in api.requests] == ["/token", "/token", "/api/items"]
    assert api.requests[-1].headers["authorization"] == f"Bearer {TOKEN}"


def test_oauth2_token_request_honours_request_timeout(tmp_path):
    def slow(request: Request) -> Reply:
        return Reply(200, iter([(b'{"access_token": "', 0.0), (b'late"}', 5.0)]))

    with Listener("127.0.0.1", slow) as api:
        out = run_cli([], oauth_config(api.url(), api.url("/token"), request_timeout=0.5), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        f"tap-restgeneric: error: OAuth2 token request to {api.url('/token')} failed after 2 attempts: "
        f"no complete response from {api.url('/token')} within 0.5 s (request_timeout)"
    )


def test_oauth2_refused_connection_is_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Listener("127.0.0.1") as api:
        out = run_cli([], oauth_config(api.url(), f"http://127.0.0.1:{port}/token"), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        f"tap-restgeneric: error: OAuth2 token request to http://127.0.0.1:{port}/token failed after 2 attempts: connection refused"
    )
    assert "HTTPConnectionPool" not in out.stderr and "Traceback" not in out.stderr


# ---------------------------------------------------------------- bounded work: templates


@pytest.mark.parametrize(
    ("where", "template", "message"),
    [
        ("params", "{{ 'x' * 10**9 }}", "repeating a value 1,000,000,000 times would exceed 1,000,000 items"),
        ("params", "{{ 'x'|center(10**9) }}", "an argument of center() 1,000,000,000 is above the limit 1,000,000"),
        ("params", "{{ 'x'.center(10**9) }}", "an argument of center() 1,000,000,000 is above the limit 1,000,000"),
        ("params", "{{ 10**(10**8) }}", "10 ** 100000000 would exceed 4,096 bits"),
        ("params", "{{ range(100000)|map('center', 100000)|join }}", "built more than 16,000,000 characters or items in all"),
        ("headers", "{{ '{:>999999999}'.format(1) }}", "a width or precision in a format string is above the limit"),
        ("client", "{{ 10**(10**8) }}", "10 ** 100000000 would exceed 4,096 bits"),
    ],
)
def test_templates_that_would_exhaust_the_machine_are_a_config_error(where, template, message, tmp_path):
    with Listener("127.0.0.1", lambda r: Reply(200, {"data": [{"id": 1}]})) as api:
        config = config_for(api, "bearer", paginator="single_page")
        if where == "client":
            config["source"]["client"]["headers"] = {"X-Big": template}
            path = "client.headers.X-Big"
        else:
            config["source"]["resources"][0]["endpoint"][where] = {"q": template}
            path = f"resources[0].endpoint.{where}.q"
        out = run_cli([], config, tmp_path, timeout=60)
        assert api.requests == []
    assert out.returncode == 1
    assert last_line(out.stderr) == f"tap-restgeneric: config error: {path}: template refused: {message}"


def test_template_loops_are_refused_at_load(tmp_path):
    config = {
        "source": {
            "client": {"base_url": "http://127.0.0.1:9"},
            "resources": [
                {
                    "name": "items",
                    "schema": SCHEMA,
                    "endpoint": {
                        "params": {"q": "{% for i in range(9) %}{% for j in range(9) %}{{ i * j }}{% endfor %}{% endfor %}"}
                    },
                }
            ],
        }
    }
    out = run_cli(["--discover"], config, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        "tap-restgeneric: config error: resources[0].endpoint.params.q: {% for %} loops are not allowed in config templates "
        "(expressions and {% if %} are)"
    )


def test_config_in_templates_does_not_expose_secrets(tmp_path):
    config = {
        "secrets": {"key": CANARY},
        "source": {
            "client": {"base_url": "http://127.0.0.1:9", "headers": {"X": "{{ config.secrets.key }}"}},
            "resources": [{"name": "items", "schema": SCHEMA}],
        },
    }
    out = run_cli(["--discover"], config, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr).startswith("tap-restgeneric: config error: client.headers.X: template error: UndefinedError:")


# ---------------------------------------------------------------- bounded work: responses


def test_a_trickling_body_meets_the_response_deadline(tmp_path):
    def trickle(request: Request) -> Reply:
        return Reply(200, iter([(b'{"data": [', 0.0)] + [(b" ", 0.3)] * 40), {"Content-Type": "application/json"})

    with Listener("127.0.0.1", trickle) as api:
        out = run_cli([], config_for(api, "bearer", paginator="single_page", request_timeout=1), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        f"tap-restgeneric: error: stream 'items': request to {api.url('/api/items')} failed after 2 attempts: "
        f"no complete response from {api.url('/api/items')} within 1 s (request_timeout)"
    )
    assert len(api.requests) == 2


def test_trickling_headers_meet_the_response_deadline(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def serve() -> None:
            for _ in range(2):
                conn, _ = server.accept()
                conn.recv(65536)
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    for _ in range(40):
                        conn.sendall(b"X-Slow: 1\r\n")
                        __import__("time").sleep(0.3)
                except OSError:
                    pass
                conn.close()

        import threading

        threading.Thread(target=serve, daemon=True).start()
        config = {
            "request_timeout": 1,
            "source": {
                "client": {"base_url": f"http://127.0.0.1:{port}"},
                "resources": [
                    {
                        "name": "items",
                        "schema": SCHEMA,
                        "endpoint": {"paginator": "single_page"},
                        "error_handler": {"max_retries": 1, "backoff_factor": 0.01},
                    }
                ],
            },
        }
        out = run_cli([], config, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr).endswith("within 1 s (request_timeout)")


def gzip_bomb(expanded: int) -> bytes:
    """``expanded`` bytes of a JSON string, gzip-compressed in 1 MiB steps (about 1 MB for 1 GiB)."""
    out = io.BytesIO()
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out.write(compressor.compress(b'{"data": [{"id": 1, "pad": "'))
    block = b"a" * (1 << 20)
    for _ in range(expanded >> 20):
        out.write(compressor.compress(block))
    out.write(compressor.compress(b'"}]}'))
    out.write(compressor.flush())
    return out.getvalue()


@pytest.mark.slow
def test_a_gzip_bomb_stops_at_the_size_cap_with_bounded_memory(tmp_path):
    bomb = gzip_bomb(1 << 30)
    assert len(bomb) < 1_200_000
    with Listener(
        "127.0.0.1", lambda r: Reply(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/json"})
    ) as api:
        config = config_for(api, "bearer", paginator="single_page")
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        import subprocess

        code = (
            "import atexit, resource, sys\n"
            "atexit.register(lambda: sys.stderr.write('peak_rss_mb=%d\\n' % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)))\n"
            "from tap_restgeneric.cli import main\nsys.argv = ['tap-restgeneric', '--config', sys.argv[1]]\nmain()\n"
        )
        proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    error = next(line for line in lines if line.startswith("tap-restgeneric: error:"))
    assert error == (
        f"tap-restgeneric: error: stream 'items': response from {api.url('/api/items')} is larger than "
        "134,217,728 bytes decoded (the max_response_mb setting); stopped reading it"
    )
    peak = int(next(line for line in lines if line.startswith("peak_rss_mb=")).split("=")[1])
    assert peak < 600, f"peak RSS {peak} MB while reading a 1 GiB gzip body"


def test_max_response_mb_caps_plain_and_compressed_bodies(tmp_path):
    body = json.dumps({"data": [{"id": i, "pad": "x" * 100} for i in range(20_000)]}).encode()  # ~2.5 MB
    for encoding, payload in (("identity", body), ("gzip", gzip.compress(body)), ("deflate", zlib.compress(body))):
        with Listener("127.0.0.1", lambda r, p=payload, e=encoding: Reply(200, p, {"Content-Encoding": e})) as api:
            with pytest.raises(StreamError, match=r"is larger than 1,048,576 bytes decoded \(the max_response_mb setting\)"):
                sync(config_for(api, "bearer", paginator="single_page", max_response_mb=1))
            ok = sync(config_for(api, "bearer", paginator="single_page", max_response_mb=3))
            assert len(ok.ids("items")) == 20_000, encoding
            assert api.requests[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    "paginator",
    [
        {"type": "cursor", "cursor_path": "cursor", "cursor_param": "after"},
        {"type": "cursor", "cursor_value": "{{ response.get('cursor') }}", "stop_condition": "{{ not response.get('cursor') }}"},
        {"type": "header_link"},
        {"type": "auto"},
    ],
)
@pytest.mark.parametrize("kind", ["api_key_query", "bearer", "endpoint_headers", "endpoint_params"])
def test_absolute_cursors_and_link_headers_to_another_origin_carry_no_credential(kind, paginator, foreign):
    def respond(request: Request) -> Reply:
        target = f"{foreign.url('/items')}?page=2&{request.target.partition('?')[2]}"
        if paginator["type"] == "header_link":
            return Reply(200, {"data": [{"id": 1}]}, {"Link": f'<{target}>; rel="next"'})
        return Reply(200, {"data": [{"id": 1}], "cursor": target, "next": target})

    with Listener("127.0.0.1", respond) as api:
        out = sync(config_for(api, kind, paginator=paginator))
    assert out.ids("items") == [1, 2]
    assert leaked(api.requests[0].raw) and leaked(foreign.raw) == []


def test_large_integers_that_are_not_sizes_are_allowed_in_templates():
    """The size limit is for widths and counts (center, ljust, batch…), not any integer: an epoch timestamp
    as a default, or a large start for sum, is ordinary config."""
    from tap_restgeneric.templates import Template

    names = {"secrets", "config"}
    assert (
        Template("{{ config.get('since')|default(1700000000, true) }}", "p", names)({"secrets": {}, "config": {}}) == 1700000000
    )
    assert Template("{{ [1, 2]|sum(start=10**7) }}", "p", names)({"secrets": {}, "config": {}}) == 10000003
