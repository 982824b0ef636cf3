"""The sandbox HTTP server: the five seed APIs (plus ``bench``) on loopback.

Stdlib only.  HTTP/1.1 with keep-alive (every response carries Content-Length),
one daemon thread per connection, encoded page bodies cached per request shape
(data only changes on :meth:`SandboxServer.advance`), nothing logged per request.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import ipaddress
import json
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from . import data as D

FAULT_KINDS = ("429", "500", "502", "503", "504", "401", "403", "reset", "slow", "html")
CONTROL_PREFIX = "/_sandbox"
JSON_TYPE = "application/json"
HTML_BODY = (b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>"
             b"<body><h1>Temporarily unavailable</h1><p>Please try again later.</p>"
             b"</body></html>\n")

_FAULT_STATUS = {"429": 429, "500": 500, "502": 502, "503": 503, "504": 504,
                 "401": 401, "403": 403}
_FAULT_ERROR = {"429": "rate limited", "500": "internal server error", "502": "bad gateway",
                "503": "service unavailable", "504": "gateway timeout",
                "401": "unauthorized", "403": "forbidden"}


class RequestLog(NamedTuple):
    """One API request as it arrived (control requests are not logged)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def to_json(self) -> dict:
        return {"method": self.method, "path": self.path, "query": self.query,
                "headers": self.headers}


@dataclass
class _Fault:
    path_prefix: str
    kind: str
    remaining: int
    retry_after: Any = None
    delay: float | None = None


class _Response(NamedTuple):
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


_RESET = _Response(0, b"")  # sentinel: close the socket without answering


class BadRequest(Exception):
    pass


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def _error(status: int, message: str, headers: tuple = ()) -> _Response:
    return _Response(status, _json({"error": message}), JSON_TYPE, headers)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_timestamp(value: str) -> float:
    """ISO 8601 (``Z``/offset/naive = UTC, or a date) or epoch seconds -> epoch seconds."""
    s = value.strip()
    try:
        return float(s)
    except ValueError:
        pass
    for candidate in (s, s.replace(" ", "+")):  # a raw '+' arrives as ' ' after decoding
        try:
            dt = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.timestamp()
    raise BadRequest(f"invalid timestamp {value!r}")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, num = raw.partition(":")
        if prefix != "offset":
            raise ValueError(raw)
        offset = int(num)
        if offset < 0:
            raise ValueError(raw)
        return offset
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(f"invalid cursor {token!r}") from None


def _last(query: dict[str, list[str]], name: str) -> str | None:
    vals = query.get(name)
    return vals[-1] if vals else None


def _int_param(query: dict[str, list[str]], name: str, default: int | None,
               minimum: int) -> int | None:
    raw = _last(query, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise BadRequest(f"query parameter {name!r} must be >= {minimum}, got {value}")
    return value


# ---------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "restgeneric-sandbox/1.0"
    timeout = 300  # idle keep-alive connections are dropped after this

    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._write(_error(400, "bad request body"))
            return
        split = urlsplit(self.path)
        path = split.path or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        sandbox = self.server.sandbox
        try:
            if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
                response = sandbox._handle_control(self.command, path, query)
            else:
                headers = {k.lower(): v for k, v in self.headers.items()}
                response = sandbox._handle_api(self.command, path, query, headers, body)
        except Exception as exc:  # a sandbox bug: answer 500 and say so on stderr
            traceback.print_exc()
            response = _error(500, f"sandbox error: {type(exc).__name__}: {exc}")
        if response is _RESET:
            self.close_connection = True
            try:  # RST instead of FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            except OSError:
                pass
            return
        self._write(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # malformed requests (bad request line, oversized headers, ...): JSON like the rest
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self._write(_error(code, message or phrase))

    def do_HEAD(self) -> None:
        self.close_connection = True
        self._write(_error(405, "method not allowed"), head=True)

    def _write(self, response: _Response, head: bool = False) -> None:
        status = response.status
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}",
                 f"Server: {self.server_version}",
                 f"Date: {formatdate(usegmt=True)}",
                 f"Content-Type: {response.content_type}",
                 f"Content-Length: {len(response.body)}"]
        lines.extend(f"{k}: {v}" for k, v in response.headers)
        if self.close_connection:
            lines.append("Connection: close")
        head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head_bytes if head else head_bytes + response.body)
        except OSError:
            self.close_connection = True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address: tuple, sandbox: SandboxServer) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.sandbox = sandbox
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # skip HTTPServer.server_bind's getfqdn() (a reverse DNS lookup)
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = port

    def track(self, conn: socket.socket) -> None:
        with self._conns_lock:
            self._conns.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._conns_lock:
            self._conns.discard(conn)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


# ---------------------------------------------------------------------------
# the sandbox
# ---------------------------------------------------------------------------


class SandboxServer:
    """All seed APIs on one loopback port, each under ``/<preset name>``.

    >>> with SandboxServer(port=0) as sb:
    ...     sb.base_url("learning")   # 'http://127.0.0.1:PORT/learning'
    """

    def __init__(self, secret: str = "sandbox-secret", port: int = 0, latency_ms: float = 0,
                 bench_records: int = 100_000, host: str = "127.0.0.1") -> None:
        if not is_loopback(host):
            raise ValueError(f"refusing to bind non-loopback host {host!r}")
        self.host = "127.0.0.1" if host == "localhost" else host.strip("[]")
        self.secret = secret
        self.requested_port = int(port)
        #: sleep this long before answering each API request (may be changed live)
        self.latency_ms = latency_ms
        self.store = D.DataStore(bench_records=bench_records)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._log: list[RequestLog] = []
        self._faults: list[_Fault] = []
        self._cache: dict[tuple, bytes] = {}
        self._generation: dict[str, int] = {api: 0 for api in D.APIS}
        self._routes: dict[str, dict[str, str]] = {
            api: {ep.path: key for key, ep in spec.endpoints.items()}
            for api, spec in D.APIS.items()
        }

    # -- lifecycle --

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.requested_port), self)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="sandbox-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Start and block until :meth:`stop` is called from another thread."""
        self.start()
        assert self._thread is not None
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.2)

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("sandbox is not running")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def base_url(self, api: str) -> str:
        if api not in D.APIS:
            raise KeyError(f"unknown api {api!r}; known: {', '.join(D.APIS)}")
        return f"{self.url}/{api}"

    # -- data --

    def records(self, api: str, resource: str) -> list[dict]:
        """Current records of a preset resource (or endpoint key), in served order (a copy)."""
        key = D.endpoint_key(api, resource)
        if api == "bench":
            return self.store.endpoint_records(api, key)
        return copy.deepcopy(self.store.snapshot(api, key)[0])

    def ids(self, api: str, resource: str) -> list:
        key = D.endpoint_key(api, resource)
        if api == "bench":
            return list(range(1, self.store.bench_records + 1))
        return [r["id"] for r in self.store.snapshot(api, key)[0]]

    def counts(self) -> dict[str, dict[str, int]]:
        return self.store.counts()

    def advance(self, api: str) -> dict[str, dict[str, list]]:
        """Add 3 and update 2 records per transactional endpoint of ``api`` ({} if none)."""
        with self._lock:
            result = self.store.advance(api)
            if result:
                self._generation[api] += 1
                self._cache = {k: v for k, v in self._cache.items() if k[0] != api}
        return result

    def schema(self, api: str, resource: str) -> dict:
        return D.schema_for(api, resource)

    # -- request log --

    @property
    def requests(self) -> list[RequestLog]:
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    # -- faults --

    def inject_fault(self, path_prefix: str, kind: str, count: int = 1,
                     retry_after: int | str | None = None, delay: float | None = None) -> None:
        """The next ``count`` API requests whose path starts with ``path_prefix`` get ``kind``."""
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._faults.append(_Fault(path_prefix, kind, int(count), retry_after, delay))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> list[dict]:
        with self._lock:
            return [{"path": f.path_prefix, "kind": f.kind, "remaining": f.remaining}
                    for f in self._faults]

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if path.startswith(fault.path_prefix):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        del self._faults[i]
                    return fault
        return None

    # -- request handling --

    def _authorized(self, spec: D.ApiSpec, query: dict, headers: dict[str, str]) -> bool:
        kind, name = spec.auth
        secret = self.secret.encode()
        if kind == "header":
            given = headers.get(name.lower())
        elif kind == "bearer":
            scheme, _, token = (headers.get("authorization") or "").partition(" ")
            given = token.strip() if scheme.lower() == "bearer" else None
        else:  # query
            given = _last(query, name)
        return given is not None and hmac.compare_digest(given.encode(), secret)

    def _handle_api(self, method: str, path: str, query: dict, headers: dict[str, str],
                    body: bytes) -> _Response:
        with self._lock:
            self._log.append(RequestLog(method, path, query, headers, body))
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)
        fault = self._take_fault(path)
        if fault is not None:
            if fault.kind == "reset":
                return _RESET
            if fault.kind == "html":
                return _Response(200, HTML_BODY, "text/html; charset=utf-8")
            if fault.kind == "slow":
                time.sleep(float(fault.delay or 0))
            else:
                extra: tuple = ()
                if fault.kind == "429" and fault.retry_after is not None:
                    extra = (("Retry-After", str(fault.retry_after)),)
                return _error(_FAULT_STATUS[fault.kind], _FAULT_ERROR[fault.kind], extra)

        api, _, rest = path.lstrip("/").partition("/")
        spec = D.APIS.get(api)
        if spec is None:
            return _error(404, "not found")
        if not self._authorized(spec, query, headers):
            return _error(401, "unauthorized")
        key = self._routes[api].get("/" + rest.rstrip("/"))
        if key is None:
            return _error(404, "not found")
        if method != "GET":
            return _error(405, "method not allowed", (("Allow", "GET"),))
        try:
            return _Response(200, self._page(api, key, query))
        except BadRequest as exc:
            return _error(400, str(exc))

    def _page(self, api: str, key: str, query: dict) -> bytes:
        spec = D.APIS[api]
        ep = spec.endpoints[key]
        style = spec.style
        if style == "page":
            params: tuple = (_int_param(query, "page", 1, 1),)
        elif style == "page_per_page":
            per_page = _int_param(query, "per_page", D.CERTIFICATIONS_MAX_PER_PAGE, 1)
            params = (_int_param(query, "page", 1, 1),
                      min(per_page, D.CERTIFICATIONS_MAX_PER_PAGE))
        elif style == "offset":
            limit = _int_param(query, "limit", D.SOCIAL_MAX_LIMIT, 1)
            params = (_int_param(query, "offset", 0, 0), min(limit, D.SOCIAL_MAX_LIMIT))
        elif style == "cursor":
            token = _last(query, "cursor")
            params = (decode_cursor(token) if token else 0,)
        elif style == "bench":
            limit = _int_param(query, "limit", 100, 1)
            params = (_int_param(query, "offset", 0, 0), min(limit, D.BENCH_MAX_LIMIT))
        elif ep.transactional:
            limit = _int_param(query, "limit", None, 1)
            since_raw = _last(query, "updated_since")
            params = (_int_param(query, "offset", 0, 0),
                      None if limit is None else min(limit, D.TRANSACTIONAL_MAX_LIMIT),
                      parse_timestamp(since_raw) if since_raw else None)
        else:  # operations master: single page
            params = ()
        gen = self._generation[api]
        cache_key = (api, key, gen, params)
        body = self._cache.get(cache_key)
        if body is None:
            body = _json(self._build(api, key, spec, ep, params))
            with self._lock:
                if len(self._cache) > 20000:
                    self._cache.clear()
                if self._generation[api] == gen:
                    self._cache[cache_key] = body
        return body

    def _build(self, api: str, key: str, spec: D.ApiSpec, ep: D.Endpoint, params: tuple) -> dict:
        style = spec.style
        if style == "bench":
            offset, limit = params
            n = self.store.bench_records
            items = [D.bench_record(i) for i in range(offset + 1, min(offset + limit, n) + 1)]
            return {"data": items, "total": n}
        records, updated = self.store.snapshot(api, key)
        if style == "page":
            (page,) = params
            size = D.LEARNING_PAGE_SIZE
            start = (page - 1) * size
            return {"items": records[start:start + size], "meta": {"page": page, "per_page": size}}
        if style == "page_per_page":
            page, per_page = params
            start = (page - 1) * per_page
            return {"data": {ep.data_key: records[start:start + per_page]},
                    "meta": {"page": page, "per_page": per_page}}
        if style == "offset":
            offset, limit = params
            return {"data": records[offset:offset + limit],
                    "paging": {"offset": offset, "limit": limit}}
        if style == "cursor":
            (offset,) = params
            end = offset + D.INCIDENTS_PAGE_SIZE
            paging: dict = {}
            if end < len(records):
                token = encode_cursor(end)
                if ep.next_form == "url":
                    paging["next"] = f"{self.url}/{api}{ep.path}?cursor={token}"
                elif ep.next_form == "path":
                    paging["next"] = f"/{api}{ep.path}?cursor={token}"
                else:
                    paging["next"] = token
            return {"data": records[offset:end], "paging": paging}
        if ep.transactional:
            offset, limit, since = params
            if since is not None:
                assert updated is not None
                matching = [r for r, t in zip(records, updated) if t > since]
            else:
                matching = records
            end = None if limit is None else offset + limit
            return {"data": matching[offset:end], "total": len(matching)}
        return {"data": records}

    # -- control endpoints --

    def _handle_control(self, method: str, path: str, query: dict) -> _Response:
        route = path[len(CONTROL_PREFIX):].rstrip("/") or "/"
        gets = {"/health", "/counts", "/requests", "/records", "/faults"}
        posts = {"/fault", "/faults/clear", "/advance", "/requests/clear"}
        if route not in gets | posts:
            return _error(404, "not found")
        wanted = "GET" if route in gets else "POST"
        if method != wanted:
            return _error(405, "method not allowed", (("Allow", wanted),))
        try:
            if route == "/health":
                return _Response(200, _json({"ok": True}))
            if route == "/counts":
                return _Response(200, _json(self.counts()))
            if route == "/requests":
                return _Response(200, _json([r.to_json() for r in self.requests]))
            if route == "/faults":
                return _Response(200, _json(self.pending_faults()))
            if route == "/records":
                api, resource = _last(query, "api"), _last(query, "resource")
                if not api or not resource:
                    raise BadRequest("api and resource are required")
                return _Response(200, _json(self.records(api, resource)))
            if route == "/requests/clear":
                self.clear_requests()
                return _Response(200, _json({"ok": True}))
            if route == "/faults/clear":
                self.clear_faults()
                return _Response(200, _json({"ok": True}))
            if route == "/advance":
                api = _last(query, "api")
                if not api:
                    raise BadRequest("api is required")
                return _Response(200, _json(self.advance(api)))
            # /fault
            prefix, kind = _last(query, "path"), _last(query, "kind")
            if not prefix or not kind:
                raise BadRequest("path and kind are required")
            retry_raw = _last(query, "retry_after")
            retry_after: int | str | None = retry_raw or None
            if retry_raw and retry_raw.isdigit():
                retry_after = int(retry_raw)
            delay_raw = _last(query, "delay")
            try:
                delay = float(delay_raw) if delay_raw else None
            except ValueError:
                raise BadRequest(f"invalid delay {delay_raw!r}") from None
            count = _int_param(query, "count", 1, 1)
            self.inject_fault(prefix, kind, count=count, retry_after=retry_after, delay=delay)
            return _Response(200, _json({"ok": True, "path": prefix, "kind": kind, "count": count}))
        except BadRequest as exc:
            return _error(400, str(exc))
        except (KeyError, ValueError) as exc:
            return _error(400, str(exc.args[0]) if exc.args else str(exc))
