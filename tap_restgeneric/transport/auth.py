"""Authenticators of the dialect (``client.auth.type``), built from the SDK's.

``AUTH_TYPES`` maps a ``type`` to how to build it from the auth config (templates
already rendered) and the keys it accepts and requires.
``OriginScopedAuth`` applies them only to the origin of ``base_url``.
"""

from __future__ import annotations

import base64
import dataclasses
import threading
import time
import typing as t

import requests
from singer_sdk.authenticators import (
    APIAuthenticatorBase,
    APIKeyAuthenticator,
    BasicAuthenticator,
    BearerTokenAuthenticator,
)
from typing_extensions import override

from tap_restgeneric.errors import StreamError
from tap_restgeneric.output.redact import REDACTOR, excerpt
from tap_restgeneric.transport.deadlines import new_session
from tap_restgeneric.transport.retry import RateLimiter, retry_delay
from tap_restgeneric.transport.wire import Origin, Transport, connection_problem, display_url

if t.TYPE_CHECKING:
    import logging

    from tap_restgeneric.transport.recording import Tape


class CookieAPIKeyAuthenticator(APIAuthenticatorBase):
    """An API key sent as a cookie (dlt's ``location: cookie``); the SDK has header/params only."""

    def __init__(self, *, key: str, value: str) -> None:
        super().__init__()
        self.key = key
        self.value = value

    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        cookie = f"{self.key}={self.value}"
        existing = request.headers.get("Cookie")
        request.headers["Cookie"] = f"{existing}; {cookie}" if existing else cookie
        return request


class OAuth2ClientCredentials(APIAuthenticatorBase):
    """OAuth 2 client credentials, as dlt's ``oauth2_client_credentials``: a form POST to
    ``access_token_url`` of ``grant_type=client_credentials``, ``access_token_request_data`` and,
    as dlt 1.31 sends them, ``client_id`` and ``client_secret`` (``client_auth_method:
    client_secret_post``, the default); ``client_secret_basic`` sends them as HTTP Basic
    instead (RFC 6749 section 2.3.1), for servers that accept only that.

    The token request goes through a ``Transport`` scoped to the token URL's origin
    (redirects hop by hop, ``request_timeout`` as its deadline, bounded body), is
    retried like any request (``error_handler`` of the client), and fails with one
    line naming the token URL and status. The client secret (raw and Basic-encoded)
    and every token obtained are registered for redaction before they can be logged.
    """

    def __init__(
        self,
        *,
        access_token_url: str,
        client_id: str,
        client_secret: str,
        token_transport: Transport,
        error_handler: t.Mapping[str, t.Any],
        rate_limiter: RateLimiter,
        access_token_request_data: dict | None = None,
        default_token_expiration: float | None = None,
        client_auth_method: str = "client_secret_post",
    ) -> None:
        super().__init__()
        REDACTOR.add(client_secret)
        REDACTOR.add_basic(client_id, client_secret)
        self.access_token_url = access_token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._request_data = access_token_request_data or {}
        self._basic = client_auth_method == "client_secret_basic"
        self._default_expiration = default_token_expiration
        self._transport = token_transport
        self._error_handler = error_handler
        self._rate_limiter = rate_limiter
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at: float | None = None

    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._valid_token()}"
        return request

    def _valid_token(self) -> str:
        with self._lock:  # pages requested ahead share one token
            if self._token is None or (self._expires_at is not None and time.monotonic() >= self._expires_at):
                self._token, self._expires_at = self._request_token()
            return self._token

    def _request_token(self) -> tuple[str, float | None]:
        url = self.access_token_url
        headers = {"Accept": "application/json"}
        data = {"grant_type": "client_credentials", **self._request_data}
        if self._basic:
            basic = base64.b64encode(f"{self._client_id}:{self._client_secret}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        else:
            data = {**data, "client_id": self._client_id, "client_secret": self._client_secret}
        prepared = self._transport.session.prepare_request(requests.Request("POST", url, headers=headers, data=data))
        attempts = int(self._error_handler["max_retries"]) + 1
        retry_statuses = set(self._error_handler["retry_on_status_codes"])
        where = f"OAuth2 token request to {display_url(url)}"
        response = None
        for attempt in range(attempts):
            self._rate_limiter.wait()
            try:
                response = self._transport.send(prepared)
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                if attempt + 1 >= attempts:
                    raise StreamError(f"{where} failed after {attempts} attempts: {connection_problem(exc)}") from None
                self.logger.warning("%s: retrying (attempt %d): %s", where, attempt + 1, connection_problem(exc))
                time.sleep(retry_delay(self._error_handler, None, attempt, self._rate_limiter))
                continue
            if response.status_code in retry_statuses and attempt + 1 < attempts:
                self.logger.warning("%s: retrying (attempt %d): HTTP %d", where, attempt + 1, response.status_code)
                time.sleep(retry_delay(self._error_handler, response, attempt, self._rate_limiter))
                continue
            break
        assert response is not None
        status = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
        if response.status_code >= 400:
            snippet = excerpt(response.text)
            refused = ": the token endpoint refused the client credentials" if response.status_code in (400, 401, 403) else ""
            raise StreamError(f"{where}: {status}{refused}" + (f" ({snippet})" if snippet else ""))
        try:
            body = response.json()
            token = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise StreamError(f"{where}: {status} but the response has no access_token") from None
        REDACTOR.add(token)
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        lifetime = _number(expires_in) or _number(self._default_expiration)
        # Renew a little early: a token that expires while a request is on the wire fails it.
        return str(token), (time.monotonic() + lifetime * 0.9) if lifetime else None


def _number(value: t.Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@dataclasses.dataclass(frozen=True)
class AuthRuntime:
    """What an authenticator that sends requests of its own (OAuth2) needs."""

    timeout: float
    max_bytes: int
    error_handler: t.Mapping[str, t.Any]
    rate_limiter: RateLimiter
    logger: logging.Logger
    tape: Tape | None = None


def _api_key(cfg: dict, runtime: AuthRuntime) -> APIAuthenticatorBase:  # noqa: ARG001
    name = cfg.get("name", "Authorization")
    location = cfg.get("location", "header")
    if location == "cookie":
        return CookieAPIKeyAuthenticator(key=name, value=cfg["api_key"])
    return APIKeyAuthenticator(key=name, value=cfg["api_key"], location="params" if location in ("query", "param") else "header")


def _bearer(cfg: dict, runtime: AuthRuntime) -> APIAuthenticatorBase:  # noqa: ARG001
    return BearerTokenAuthenticator(token=cfg["token"])


def _http_basic(cfg: dict, runtime: AuthRuntime) -> APIAuthenticatorBase:  # noqa: ARG001
    return BasicAuthenticator(username=cfg["username"], password=cfg.get("password", ""))


def _oauth2_client_credentials(cfg: dict, runtime: AuthRuntime) -> APIAuthenticatorBase:
    url = cfg["access_token_url"]
    transport = Transport(
        session=new_session(),
        origin=Origin.of(url),
        label=f"OAuth2 token request to {display_url(url)}",
        timeout=runtime.timeout,
        max_bytes=runtime.max_bytes,
        logger=runtime.logger,
        secret_headers={"Authorization"},
        secret_body=True,
        tape=runtime.tape,
        holds_credentials=True,
    )
    return OAuth2ClientCredentials(
        access_token_url=url,
        client_id=cfg["client_id"],
        client_secret=cfg["client_secret"],
        token_transport=transport,
        error_handler=runtime.error_handler,
        rate_limiter=runtime.rate_limiter,
        access_token_request_data=cfg.get("access_token_request_data"),
        default_token_expiration=cfg.get("default_token_expiration"),
        client_auth_method=cfg.get("client_auth_method") or "client_secret_post",
    )


@dataclasses.dataclass(frozen=True)
class AuthType:
    """One ``client.auth.type``: how to build it, the keys it accepts and those it requires."""

    build: t.Callable[[dict, AuthRuntime], APIAuthenticatorBase]
    accepted: frozenset[str]
    required: frozenset[str]


#: The auth types of the dialect (``type`` itself is implied in every key set).
AUTH_TYPES: dict[str, AuthType] = {
    "api_key": AuthType(_api_key, frozenset({"name", "api_key", "location"}), frozenset({"api_key"})),
    "bearer": AuthType(_bearer, frozenset({"token"}), frozenset({"token"})),
    "http_basic": AuthType(_http_basic, frozenset({"username", "password"}), frozenset({"username"})),
    "oauth2_client_credentials": AuthType(
        _oauth2_client_credentials,
        frozenset(
            {
                "access_token_url",
                "client_id",
                "client_secret",
                "access_token_request_data",
                "default_token_expiration",
                "client_auth_method",
            }
        ),
        frozenset({"access_token_url", "client_id", "client_secret"}),
    ),
}
#: ``param`` is dlt's other name for ``query``.
API_KEY_LOCATIONS = ("header", "query", "param", "cookie")
#: How the OAuth2 client id and secret reach the token URL (RFC 7591's names; dlt's is the first).
OAUTH2_CLIENT_AUTH_METHODS = ("client_secret_post", "client_secret_basic")
#: Keys whose values are credentials, redacted wherever the tap writes.
SECRET_KEYS = frozenset({"api_key", "token", "password", "client_secret"})


def register_secrets(auth: t.Mapping[str, t.Any] | None) -> None:
    """Every form in which this auth's credentials could be written, for redaction."""
    if not auth:
        return
    REDACTOR.add(*(auth[key] for key in SECRET_KEYS if auth.get(key)))
    if auth["type"] == "http_basic":
        REDACTOR.add_basic(auth["username"], auth.get("password", ""))
    elif auth["type"] == "oauth2_client_credentials":
        REDACTOR.add_basic(auth["client_id"], auth["client_secret"])


class OriginScopedAuth:
    """Applies ``inner`` only to requests for ``origin`` (scheme, host and port of
    ``base_url``); ``Transport`` never offers it another, this is the second lock."""

    def __init__(self, inner: t.Callable | None, base_url: str) -> None:
        self.inner = inner
        self.origin = Origin.of(base_url)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.inner is not None and Origin.of(request.url or "") == self.origin:
            return self.inner(request)
        return request
