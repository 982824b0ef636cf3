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

import typing as t
import zlib
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.utils import requote_uri

from tap_restgeneric.output.redact import REDACTOR
from tap_restgeneric.transport.bodies import ResponseTooLarge, read_body, tls_reason
from tap_restgeneric.transport.deadlines import ACTIVE, WATCHDOG, Deadline
from tap_restgeneric.transport.origins import EnvironmentSettings, Origin, display_url

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from tap_restgeneric.errors import Subject
    from tap_restgeneric.transport.recording import Tape

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: As requests' ``Session.max_redirects``.
MAX_REDIRECTS = 30


@t.runtime_checkable
class Exchanging(t.Protocol):
    """An authenticator that sends a request itself (to renew its credential on a 401 and send it again)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest: ...

    def exchange(
        self, request: requests.PreparedRequest, send: t.Callable[[requests.PreparedRequest], requests.Response]
    ) -> requests.Response: ...


class DeadlineExceeded(requests.exceptions.Timeout):
    """No complete response within the deadline; retried like any timeout."""


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
        about: Subject,
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
        #: What its errors and log lines are about (a stream, or a token endpoint).
        self.about = about
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
                response = self._authenticated(bare, origin)
            else:
                self._log_foreign(origin, bare.url or "")
                response = self._exchange(self._without_credentials(bare, origin), origin)
            if response.status_code not in REDIRECT_STATUSES or "Location" not in response.headers:
                return response
            bare = self._redirected(bare, response)
        raise self.about.error(f"more than {MAX_REDIRECTS} redirects from {display_url(request.url or '')}")

    def _authenticated(self, bare: requests.PreparedRequest, origin: Origin) -> requests.Response:
        """``bare`` sent with the credentials; an authenticator that renews its credential on a 401 sends it
        (``exchange``: once more with the renewed credential, the same page)."""
        if isinstance(self.authenticate, Exchanging):
            return self.authenticate.exchange(bare, lambda wire: self._exchange(wire, origin))
        return self._exchange(self.authenticate(bare.copy()) if self.authenticate else bare, origin)

    def _log_foreign(self, origin: Origin, url: str) -> None:
        if origin not in self._logged_origins:
            self._logged_origins.add(origin)
            downgrade = " (https to http)" if self.origin.scheme == "https" and origin.scheme == "http" else ""
            self.logger.info(
                "%s",
                self.about.line(
                    f"{display_url(url)} is another origin than {self.origin}{downgrade}: requested without credentials"
                ),
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
                raise self.about.error(
                    f"not sending the request body to {origin}, another origin than {self.origin}: it holds credentials"
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
            body = read_body(response, self.max_bytes, self.about)
            _raise_if_expired(deadline)  # the watchdog's shutdown can read as a clean end of the body
        except requests.exceptions.SSLError as exc:
            raise self.about.error(f"TLS error with {origin}: {tls_reason(exc)}") from None
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
