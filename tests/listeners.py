"""Real loopback listeners that record every byte a client sends them.

``Listener(host, respond)`` serves HTTP/1.1 on ``host`` (127.0.0.1, or 127.0.0.2 as a
foreign host) and a free port. With ``tls`` (a trustme CA), it speaks TLS and plain
HTTP on the same port, told apart by the first byte (0x16 opens a TLS handshake), so
that a scheme downgrade can be tested with host and port unchanged.

``respond(request)`` returns ``Reply(status, body, headers)``; ``body`` may be bytes,
a JSON-able value, or an iterator of (bytes, seconds to wait before it) for slow bodies.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import ssl
import threading
import time
import typing as t
from urllib.parse import parse_qs, urlsplit


@dataclasses.dataclass
class Request:
    method: str
    target: str  # as on the request line (absolute-form through a proxy)
    headers: dict[str, str]  # lower-case names
    body: bytes
    raw: bytes  # everything received: request line, headers, body
    tls: bool

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)


@dataclasses.dataclass
class Reply:
    status: int = 200
    body: t.Any = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    401: "Unauthorized",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Listener:
    def __init__(self, host: str = "127.0.0.1", respond: t.Callable[[Request], Reply] | None = None, tls: t.Any = None) -> None:
        self.host = host
        self.respond = respond or (lambda request: Reply(404, {"error": "not found"}))
        self.requests: list[Request] = []
        self._sock = socket.create_server((host, 0))
        self.port = self._sock.getsockname()[1]
        self._tls: ssl.SSLContext | None = None
        if tls is not None:
            self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.issue_cert(host, "localhost").configure_cert(self._tls)
        self._closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "", scheme: str | None = None) -> str:
        scheme = scheme or ("https" if self._tls else "http")
        return f"{scheme}://{self.host}:{self.port}{path}"

    @property
    def raw(self) -> bytes:
        return b"\n".join(r.raw for r in self.requests)

    def close(self) -> None:
        self._closed = True
        self._sock.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        tls = False
        try:
            conn.settimeout(30)
            if self._tls is not None and conn.recv(1, socket.MSG_PEEK) == b"\x16":
                conn = self._tls.wrap_socket(conn, server_side=True)
                tls = True
            reader = conn.makefile("rb")
            while True:
                request = self._read(reader, tls)
                if request is None:
                    return
                self.requests.append(request)
                reply = self.respond(request)
                if not self._write(conn, reply):
                    return
        except (OSError, ssl.SSLError, ValueError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _read(reader: t.Any, tls: bool) -> Request | None:
        line = reader.readline()
        if not line:
            return None
        raw = bytearray(line)
        headers: dict[str, str] = {}
        while True:
            header = reader.readline()
            raw += header
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = reader.read(int(headers.get("content-length", "0") or 0))
        raw += body
        method, target, _ = line.decode("latin-1").split(" ", 2)
        return Request(method, target, headers, body, bytes(raw), tls)

    @staticmethod
    def _write(conn: socket.socket, reply: Reply) -> bool:
        body = reply.body
        headers = dict(reply.headers)
        chunks: list[tuple[bytes, float]] | t.Iterator[tuple[bytes, float]]
        if isinstance(body, (bytes, bytearray)):
            chunks = [(bytes(body), 0.0)]
            headers.setdefault("Content-Length", str(len(body)))
        elif isinstance(body, t.Iterator):
            chunks = body
            headers["Connection"] = "close"
        else:
            encoded = json.dumps(body).encode()
            chunks = [(encoded, 0.0)]
            headers.setdefault("Content-Type", "application/json")
            headers.setdefault("Content-Length", str(len(encoded)))
        head = f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        conn.sendall(head.encode("latin-1"))
        for data, wait in chunks:
            if wait:
                time.sleep(wait)
            conn.sendall(data)
        return headers.get("Connection") != "close"
