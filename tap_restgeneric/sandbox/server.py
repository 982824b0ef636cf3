"""The sandbox HTTP server: the five seed APIs (plus ``bench``, ``tracker`` and ``reports``) on loopback.

Stdlib only.  HTTP/1.1 with keep-alive (every response carries Content-Length),
one daemon thread per connection, encoded page bodies cached per request shape
(data only changes on :meth:`SandboxServer.advance`), nothing logged per request.
:class:`SandboxServer` owns the data, the request log and the injected faults; the
HTTP plumbing is in :mod:`.httpd`, the wire-level values and parsers in :mod:`.protocol`,
the page bodies in :mod:`.pages` and the ``/_sandbox`` endpoints in :mod:`.control`.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass
from typing import Any

from . import data as D
from .apis import reports
from .apis.tracker import TRACKER_AUTH, Tracker
from .httpd import SandboxHTTPServer
from .pages import PageBuilder, authorized
from .protocol import (
    FAULT_ERROR,
    FAULT_KINDS,
    FAULT_STATUS,
    HTML_BODY,
    RESET,
    BadRequest,
    RequestLog,
    Response,
    decode_cursor,
    encode_cursor,
    error_response,
    is_loopback,
    parse_timestamp,
)

__all__ = [
    "FAULT_KINDS",
    "BadRequest",
    "RequestLog",
    "SandboxServer",
    "decode_cursor",
    "encode_cursor",
    "is_loopback",
    "parse_timestamp",
]


@dataclass
class _Fault:
    path_prefix: str
    kind: str
    remaining: int
    retry_after: Any = None
    delay: float | None = None
    #: Only requests whose query has these values (None: any query).
    query: dict[str, str] | None = None


class SandboxServer:
    """All seed APIs on one loopback port, each under ``/<preset name>``.

    >>> with SandboxServer(port=0) as sb:
    ...     sb.base_url("learning")   # 'http://127.0.0.1:PORT/learning'
    """

    def __init__(
        self,
        secret: str = "sandbox-secret",
        port: int = 0,
        latency_ms: float = 0,
        bench_records: int = 100_000,
        host: str = "127.0.0.1",
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"refusing to bind non-loopback host {host!r}")
        self.host = "127.0.0.1" if host == "localhost" else host.strip("[]")
        self.secret = secret
        self.requested_port = int(port)
        #: sleep this long before answering each API request (may be changed live)
        self.latency_ms = latency_ms
        self.store = D.DataStore(bench_records=bench_records)
        self._httpd: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._log: list[RequestLog] = []
        self._faults: list[_Fault] = []
        self._pages = PageBuilder(self.store, self._lock, lambda: self.url)
        #: The parent/child API (``/tracker``), mutable by the tests.
        self.tracker = Tracker()
        self._routes: dict[str, dict[str, str]] = {
            api: {ep.path: key for key, ep in spec.endpoints.items()} for api, spec in D.APIS.items()
        }

    # -- lifecycle --

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._httpd = SandboxHTTPServer((self.host, self.requested_port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-http", daemon=True
        )
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

    def __exit__(self, *exc: object) -> None:
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
        if api not in D.APIS and api not in ("tracker", "reports"):
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
        return {**self.store.counts(), "tracker": self.tracker.counts()}

    def advance(self, api: str) -> dict[str, dict[str, list]]:
        """Add 3 and update 2 records per transactional endpoint of ``api`` ({} if none)."""
        with self._lock:
            result = self.store.advance(api)
            if result:
                self._pages.invalidate(api)
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

    def inject_fault(
        self,
        path_prefix: str,
        kind: str,
        count: int = 1,
        retry_after: int | str | None = None,
        delay: float | None = None,
        query: dict[str, str] | None = None,
    ) -> None:
        """The next ``count`` API requests whose path starts with ``path_prefix`` (and whose query has the
        values of ``query``, when given) get ``kind``."""
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._faults.append(_Fault(path_prefix, kind, int(count), retry_after, delay, query))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> list[dict]:
        with self._lock:
            return [{"path": f.path_prefix, "kind": f.kind, "remaining": f.remaining} for f in self._faults]

    def _take_fault(self, path: str, query: dict) -> _Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                wanted = fault.query or {}
                if path.startswith(fault.path_prefix) and all((query.get(k) or [None])[-1] == v for k, v in wanted.items()):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        del self._faults[i]
                    return fault
        return None

    # -- request handling --

    def handle_api(self, method: str, path: str, query: dict, headers: dict[str, str], body: bytes) -> Response:
        """Answer one API request (called by the HTTP handler's threads): log, latency, faults, auth, page."""
        with self._lock:
            self._log.append(RequestLog(method, path, query, headers, body))
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)
        fault = self._take_fault(path, query)
        if fault is not None and fault.kind in ("truncated", "cut"):
            page = self._answer(method, path, query, headers)
            if page.status != 200:
                return page
            if fault.kind == "truncated":
                return page._replace(body=page.body[: len(page.body) // 2])
            return page._replace(cut_at=len(page.body) // 2)
        if fault is not None:
            if fault.kind == "reset":
                return RESET
            if fault.kind == "html":
                return Response(200, HTML_BODY, "text/html; charset=utf-8")
            if fault.kind == "slow":
                time.sleep(float(fault.delay or 0))
            else:
                extra: tuple = ()
                if fault.retry_after is not None:  # 429, and 503 and friends as real APIs send them
                    extra = (("Retry-After", str(fault.retry_after)),)
                return error_response(FAULT_STATUS[fault.kind], FAULT_ERROR[fault.kind], extra)
        return self._answer(method, path, query, headers)

    def _answer(self, method: str, path: str, query: dict, headers: dict[str, str]) -> Response:
        api, _, rest = path.lstrip("/").partition("/")
        if api == "tracker":
            if not authorized(TRACKER_AUTH, self.secret, query, headers):
                return error_response(401, "unauthorized")
            return self.tracker.answer(rest, query, self.url + path.split("?", maxsplit=1)[0])
        if api == "reports":  # date windows and partitions: a 31-day cap, accounts, unsorted records
            if not authorized(reports.REPORTS_AUTH, self.secret, query, headers):
                return error_response(401, "unauthorized")
            return reports.answer(rest, query)
        spec = D.APIS.get(api)
        if spec is None:
            return error_response(404, "not found")
        if not authorized(spec, self.secret, query, headers):
            return error_response(401, "unauthorized")
        key = self._routes[api].get("/" + rest.rstrip("/"))
        if key is None:
            return error_response(404, "not found")
        if method != "GET":
            return error_response(405, "method not allowed", (("Allow", "GET"),))
        try:
            return Response(200, self._pages.page(api, key, query))
        except BadRequest as exc:
            return error_response(400, str(exc))
