"""Sending one request: credentials only to their origin, redirects hop by hop, bounded responses.

An origin is scheme + host + port. ``Transport.send`` is the one place a request
leaves the tap:

- credentials (the auth, and every header, query parameter, cookie or body value
  whose template reads ``secrets``) go only to requests for the transport's origin;
  a request for another origin (a next link, an absolute cursor, a redirect) is sent
  without them, and any header or query value that still holds a known secret value
  is removed too; a body that holds one is not sent at all;
- redirects are followed here, not by requests, so that rule applies to every hop
  (requests would carry a custom header such as ``X-API-Key`` to any host);
- ``timeout`` is a deadline for the whole response (connect, headers and every read
  of the body), enforced by a watchdog thread that shuts the socket down: a socket
  timeout alone bounds each read, and a server sending a byte every half second would
  hold the tap forever;
- the body is read and decompressed by the tap, stopping at ``max_bytes`` decoded bytes
  (a 1 MB gzip body can expand to gigabytes);
- proxies and CA bundles come from the environment as for plain requests, read once
  per origin (requests reads ``os.environ`` three times per request otherwise).
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import threading
import typing as t
import zlib
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.utils import get_environ_proxies, requote_uri
from typing_extensions import override

from tap_restgeneric.errors import StreamError
from tap_restgeneric.output.redact import REDACTOR
from tap_restgeneric.transport.deadlines import ACCEPT_ENCODING, ACTIVE, WATCHDOG, Deadline

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from tap_restgeneric.transport.recording import Tape

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: As requests' ``Session.max_redirects``.
MAX_REDIRECTS = 30
_CHUNK = 1 << 16
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclasses.dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int | None

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        return cls(scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme))

    @override
    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def display_url(url: str) -> str:
    """The URL without its query string: query values may carry credentials."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class DeadlineExceeded(requests.exceptions.Timeout):
    """No complete response within the deadline; retried like any timeout."""


class ResponseTooLarge(StreamError):
    """The decoded body passed ``max_response_mb``."""


# ---------------------------------------------------------------- the environment


def ca_bundle_from_environment() -> str | bool:
    """``verify`` as plain requests resolves it (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE), and
    also Python's own SSL_CERT_FILE / SSL_CERT_DIR, which corporate setups often set alone."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        value = os.environ.get(name)
        if value:
            return value
    return True


class EnvironmentSettings:
    """Proxies per origin and the CA bundle, each read from the environment once."""

    def __init__(self) -> None:
        self.verify = ca_bundle_from_environment()
        self._proxies: dict[Origin, dict[str, str]] = {}
        self._lock = threading.Lock()

    def proxies(self, origin: Origin) -> dict[str, str]:
        found = self._proxies.get(origin)
        if found is None:
            proxies = get_environ_proxies(f"{origin.scheme}://{origin.host}:{origin.port}")
            found = {key: value for key, value in proxies.items() if key != "no_proxy"}
            with self._lock:
                self._proxies[origin] = found
        return found


# ---------------------------------------------------------------- bodies


def _decoder(encoding: str) -> t.Any:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib framing, detected
    raise requests.exceptions.ContentDecodingError(
        f"unsupported Content-Encoding {encoding!r} (the tap asks for {ACCEPT_ENCODING})"
    )


def read_body(response: requests.Response, max_bytes: int, label: str) -> bytes:
    """The decoded body, read in chunks and decompressed at most ``max_bytes`` (+1) at a time.

    A gzip body may be several members one after another (RFC 1952, as ``gzip -c a b`` or a
    server compressing chunk by chunk writes it): each is decoded, within the same bound."""
    encoding = response.headers.get("Content-Encoding", "")
    decoder = _decoder(encoding)
    body = bytearray()

    def too_large() -> ResponseTooLarge:
        return ResponseTooLarge(
            f"{label}: response from {display_url(response.url)} is larger than {max_bytes:,} bytes decoded "
            "(the max_response_mb setting); stopped reading it"
        )

    def inflate(data: bytes) -> None:
        nonlocal decoder
        while len(body) <= max_bytes:  # room for at least one byte: a max_length of 0 means no bound
            body.extend(decoder.decompress(data, max_bytes + 1 - len(body)))
            data = decoder.unconsumed_tail
            if data:
                continue
            following = decoder.unused_data if decoder.eof else b""
            if not following.strip(b"\0"):  # no next member (zero padding after the last is allowed)
                return
            decoder = _decoder(encoding)
            data = following

    for chunk in response.raw.stream(_CHUNK, decode_content=False):
        if decoder is None:
            body += chunk
        else:
            inflate(chunk)
        if len(body) > max_bytes:
            raise too_large()
    if decoder is not None:
        body += decoder.flush()
        if len(body) > max_bytes:
            raise too_large()
    return bytes(body)


# ---------------------------------------------------------------- sending


class Transport:
    """Sends prepared requests for one stream (or one token endpoint).

    ``origin`` is where the credentials belong. ``authenticate`` adds the auth to a
    request (only ever called for that origin). ``secret_headers`` and
    ``secret_params`` name the config's headers and query parameters whose templates
    read ``secrets``; ``secret_body`` says whether the body's do.
    """

    def __init__(
        self,
        *,
        session: requests.Session,
        origin: Origin,
        label: str,
        timeout: float,
        max_bytes: int,
        logger: logging.Logger,
        authenticate: Callable[[requests.PreparedRequest], requests.PreparedRequest] | None = None,
        secret_headers: t.AbstractSet[str] = frozenset(),
        secret_params: t.AbstractSet[str] = frozenset(),
        secret_body: bool = False,
        environment: EnvironmentSettings | None = None,
        tape: Tape | None = None,
        holds_credentials: bool = False,
    ) -> None:
        self.session = session
        #: ``--record`` / ``--replay``: responses saved as received, or answered from a recording.
        self.tape = tape
        #: Its responses carry credentials (an OAuth2 token endpoint's): recorded with them masked.
        self.holds_credentials = holds_credentials
        self.origin = origin
        self.label = label
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.logger = logger
        self.authenticate = authenticate
        self.secret_headers = frozenset(name.lower() for name in secret_headers)
        self.secret_params = frozenset(secret_params)
        self.secret_body = secret_body
        self.environment = environment or EnvironmentSettings()
        self._logged_origins: set[Origin] = set()

    def send(self, request: requests.PreparedRequest) -> requests.Response:
        """Send ``request`` (prepared without credentials) and follow its redirects."""
        if self.tape is not None and self.tape.replaying:
            return self.tape.replay(request, self.secret_params)
        response = self._send(request)
        if self.tape is not None:
            self.tape.record(request, response, self.secret_params, holds_credentials=self.holds_credentials)
        return response

    def _send(self, request: requests.PreparedRequest) -> requests.Response:
        bare = request
        for _ in range(MAX_REDIRECTS + 1):
            origin = Origin.of(bare.url or "")
            if origin == self.origin:
                wire = self.authenticate(bare.copy()) if self.authenticate else bare
            else:
                self._log_foreign(origin, bare.url or "")
                wire = self._without_credentials(bare, origin)
            response = self._exchange(wire, origin)
            if response.status_code not in REDIRECT_STATUSES or "Location" not in response.headers:
                return response
            bare = self._redirected(bare, response)
        raise StreamError(f"{self.label}: more than {MAX_REDIRECTS} redirects from {display_url(request.url or '')}")

    def _log_foreign(self, origin: Origin, url: str) -> None:
        if origin not in self._logged_origins:
            self._logged_origins.add(origin)
            downgrade = " (https to http)" if self.origin.scheme == "https" and origin.scheme == "http" else ""
            self.logger.info(
                "%s: %s is another origin than %s%s: requested without credentials",
                self.label,
                display_url(url),
                self.origin,
                downgrade,
            )

    def _without_credentials(self, request: requests.PreparedRequest, origin: Origin) -> requests.PreparedRequest:
        stripped = request.copy()
        for name in list(stripped.headers):
            lower = name.lower()
            if lower in ("authorization", "cookie") or lower in self.secret_headers or REDACTOR.contains(stripped.headers[name]):
                del stripped.headers[name]
        parts = urlsplit(stripped.url or "")
        if parts.query:
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            kept = [
                (k, v) for k, v in pairs if k not in self.secret_params and not REDACTOR.contains(k) and not REDACTOR.contains(v)
            ]
            if len(kept) != len(pairs) or REDACTOR.contains(parts.query):
                stripped.url = urlunsplit(parts._replace(query=urlencode(kept)))
        if parts.username or parts.password:
            netloc = parts.netloc.rsplit("@", 1)[-1]
            stripped.url = urlunsplit(urlsplit(stripped.url or "")._replace(netloc=netloc))
        body = stripped.body
        if body:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
            if self.secret_body or REDACTOR.contains(text):
                raise StreamError(
                    f"{self.label}: not sending the request body to {origin}, another origin than {self.origin}: "
                    "it holds credentials"
                )
        return stripped

    def _redirected(self, request: requests.PreparedRequest, response: requests.Response) -> requests.PreparedRequest:
        """The next hop, as a browser (and requests) would send it, from the bare request."""
        status = response.status_code
        following = request.copy()
        following.url = requote_uri(urljoin(response.url or request.url or "", response.headers["Location"]))
        method = (request.method or "GET").upper()
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method = "GET"
        following.method = method
        if status not in (307, 308) or method == "GET":
            following.body = None
            for header in ("Content-Length", "Content-Type", "Transfer-Encoding"):
                following.headers.pop(header, None)
        return following

    def _exchange(self, request: requests.PreparedRequest, origin: Origin) -> requests.Response:
        deadline = WATCHDOG.arm(self.timeout)
        ACTIVE.deadline = deadline
        response: requests.Response | None = None
        try:
            response = self.session.send(
                request,
                stream=True,
                allow_redirects=False,
                timeout=(self.timeout, self.timeout),
                proxies=self.environment.proxies(origin),
                verify=self.environment.verify,
            )
            body = read_body(response, self.max_bytes, self.label)
            _raise_if_expired(deadline)  # the watchdog's shutdown can read as a clean end of the body
        except requests.exceptions.SSLError as exc:
            raise StreamError(f"{self.label}: TLS error with {origin}: {_tls_reason(exc)}") from None
        except ResponseTooLarge:
            if response is not None:
                response.close()
            raise
        except Exception as exc:
            if response is not None:
                response.close()
            if deadline.expired:
                raise DeadlineExceeded(
                    f"no complete response from {display_url(request.url or '')} within {self.timeout:g} s (request_timeout)"
                ) from None
            if isinstance(exc, requests.exceptions.RequestException):
                raise
            if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
                raise requests.exceptions.ReadTimeout(str(exc)) from None
            if isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
                raise requests.exceptions.ChunkedEncodingError(
                    f"connection broken while reading the body: {type(exc).__name__}"
                ) from None
            if isinstance(exc, zlib.error):
                raise requests.exceptions.ContentDecodingError(f"body could not be decompressed: {exc}") from None
            raise
        finally:
            deadline.done = True
            ACTIVE.deadline = None
        # The body was read here (streamed, bounded): give it to the Response as requests
        # itself does after reading, so .content, .text and .json() work as usual.
        response._content = body  # noqa: SLF001
        response._content_consumed = True  # type: ignore[attr-defined]  # noqa: SLF001 - (see above)
        response.raw.release_conn()
        return response


def _raise_if_expired(deadline: Deadline) -> None:
    if deadline.expired:
        raise DeadlineExceeded


def connection_problem(exc: BaseException) -> str:
    """What went wrong with a connection, in a few words (no URL: it may hold a query)."""
    seen = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "Connection refused" in str(seen.args[:1]):
            return "connection refused"
        if isinstance(seen, socket.gaierror) or "Name or service not known" in str(seen.args[:1]):
            return "host name not found"
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    text = str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return text if text.startswith("no complete response") else "timed out"
    return type(exc).__name__


_SSL_REASON = re.compile(r"\[SSL[^\]]*\] ([^(]*?) \(_ssl\.c")


def _tls_reason(exc: requests.exceptions.SSLError) -> str:
    """``certificate verify failed: unable to get local issuer certificate`` out of the
    nested urllib3/ssl message, with a hint when the certificate is the problem."""
    found = _SSL_REASON.search(str(exc))
    reason = found.group(1) if found else type(exc).__name__
    hint = " (for a private CA, set REQUESTS_CA_BUNDLE or SSL_CERT_FILE to its bundle)" if "certificate" in reason else ""
    return f"{reason}{hint}"
