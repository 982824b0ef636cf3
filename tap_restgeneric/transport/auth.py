"""Authenticators of the dialect (``client.auth.type``), built from the SDK's.

``AUTH_TYPES`` maps a ``type`` to how to build it from its config (templates already rendered) and
the config's typed shape, a ``TypedDict`` per type: its keys are the keys the type accepts, its
required keys those it requires (``tests/transport/test_auth_configs.py`` holds them to the dialect
schema). ``OriginScopedAuth`` applies an authenticator only to the origin of ``base_url``.
"""

from __future__ import annotations

import dataclasses
import typing as t

from singer_sdk.authenticators import (
    APIAuthenticatorBase,
    APIKeyAuthenticator,
    BasicAuthenticator,
    BearerTokenAuthenticator,
)
from typing_extensions import override

from tap_restgeneric.errors import Subject
from tap_restgeneric.transport import auth_types
from tap_restgeneric.transport.auth_configs import (
    ApiKeyAuth,
    BearerAuth,
    HttpBasicAuth,
    JwtAuthConfig,
    OAuth2ClientCredentialsAuth,
    OAuth2RefreshTokenAuth,
    SessionLoginAuth,
)
from tap_restgeneric.transport.client_credentials import OAuth2ClientCredentials
from tap_restgeneric.transport.deadlines import new_session
from tap_restgeneric.transport.origins import Origin, display_url
from tap_restgeneric.transport.wire import Transport

if t.TYPE_CHECKING:
    import logging

    import requests

    from tap_restgeneric.output.redact import Redactor
    from tap_restgeneric.transport.recording import Tape
    from tap_restgeneric.transport.retry import RetryPolicy
    from tap_restgeneric.transport.throttle import RateLimiter


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


@dataclasses.dataclass(frozen=True)
class AuthRuntime:
    """What an authenticator that sends requests of its own (OAuth2) needs."""

    timeout: float
    max_bytes: int
    #: The retry policy of requests outside any resource (the client's ``error_handler``).
    policy: RetryPolicy
    rate_limiter: RateLimiter
    logger: logging.Logger
    #: Where tokens obtained at run time are registered, to be redacted wherever the tap writes.
    redactor: Redactor
    #: The run's authenticators, shared by every stream (one per auth block), closed at its end.
    shared: auth_types.SharedAuth = dataclasses.field(default_factory=auth_types.SharedAuth)
    tape: Tape | None = None
    #: Where rotated OAuth2 refresh tokens are kept (the ``token_store`` setting; None: the default file).
    token_store: str | None = None


def _api_key(cfg: ApiKeyAuth, runtime: AuthRuntime) -> APIAuthenticatorBase:  # noqa: ARG001
    name = cfg.get("name", "Authorization")
    location = cfg.get("location", "header")
    if location == "cookie":
        return CookieAPIKeyAuthenticator(key=name, value=cfg["api_key"])
    return APIKeyAuthenticator(key=name, value=cfg["api_key"], location="params" if location in ("query", "param") else "header")


def _bearer(cfg: BearerAuth, runtime: AuthRuntime) -> APIAuthenticatorBase:  # noqa: ARG001
    return BearerTokenAuthenticator(token=cfg["token"])


def _http_basic(cfg: HttpBasicAuth, runtime: AuthRuntime) -> APIAuthenticatorBase:  # noqa: ARG001
    return BasicAuthenticator(username=cfg["username"], password=cfg.get("password", ""))


def _oauth2_client_credentials(cfg: OAuth2ClientCredentialsAuth, runtime: AuthRuntime) -> APIAuthenticatorBase:
    url = cfg["access_token_url"]
    transport = Transport(
        session=new_session(),
        origin=Origin.of(url),
        about=Subject(other=f"OAuth2 token request to {display_url(url)}"),
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
        policy=runtime.policy,
        rate_limiter=runtime.rate_limiter,
        redactor=runtime.redactor,
        access_token_request_data=cfg.get("access_token_request_data"),
        default_token_expiration=cfg.get("default_token_expiration"),
        client_auth_method=cfg.get("client_auth_method") or "client_secret_post",
    )


@dataclasses.dataclass(frozen=True)
class AuthType:
    """One ``client.auth.type``: how to build it, and its config's shape (the keys it accepts and requires)."""

    build: t.Callable[[t.Any, AuthRuntime], t.Callable[[requests.PreparedRequest], requests.PreparedRequest]]
    config: type

    @property
    def accepted(self) -> frozenset[str]:
        return frozenset(self.config.__annotations__) - {"type"}

    @property
    def required(self) -> frozenset[str]:
        return frozenset(self.config.__required_keys__) - {"type"}  # type: ignore[attr-defined]


#: The auth types of the dialect (``type`` itself is implied in every key set).
AUTH_TYPES: dict[str, AuthType] = {
    "api_key": AuthType(_api_key, ApiKeyAuth),
    "bearer": AuthType(_bearer, BearerAuth),
    "http_basic": AuthType(_http_basic, HttpBasicAuth),
    "oauth2_client_credentials": AuthType(_oauth2_client_credentials, OAuth2ClientCredentialsAuth),
    "oauth2_refresh_token": AuthType(auth_types.oauth2_refresh_token, OAuth2RefreshTokenAuth),
    "session_login": AuthType(auth_types.session_login, SessionLoginAuth),
    "jwt": AuthType(auth_types.jwt, JwtAuthConfig),
}
#: Auth types resolved when the source is read, into one of ``AUTH_TYPES`` (``source.auth_check``).
SELECTIVE = "selective"
#: ``param`` is dlt's other name for ``query``.
API_KEY_LOCATIONS = ("header", "query", "param", "cookie")
#: How the OAuth2 client id and secret reach the token URL (RFC 7591's names; dlt's is the first).
OAUTH2_CLIENT_AUTH_METHODS = ("client_secret_post", "client_secret_basic")
#: Keys whose values are credentials, redacted wherever the tap writes.
SECRET_KEYS = frozenset({"api_key", "token", "password", "client_secret", "refresh_token", "secret_key", "passphrase"})


def basic_credentials(auth: t.Mapping[str, t.Any]) -> tuple[str, str] | None:
    """The user and password an auth sends as HTTP Basic (redacted in that form too), if it does."""
    if auth["type"] == "http_basic":
        return str(auth["username"]), str(auth.get("password", ""))
    if auth["type"] == "oauth2_client_credentials":
        return str(auth["client_id"]), str(auth["client_secret"])
    if auth["type"] in ("oauth2_refresh_token", "session_login"):
        user, password = auth.get("client_id", auth.get("username")), auth.get("client_secret", auth.get("password"))
        return (str(user), str(password)) if user is not None and password else None
    return None


class OriginScopedAuth:
    """Applies ``inner`` only to requests for ``origin`` (scheme, host and port of
    ``base_url``); ``Transport`` never offers it another, this is the second lock."""

    def __init__(self, inner: t.Callable | None, base_url: str, kind: str | None = None) -> None:
        self.inner = inner
        self.origin = Origin.of(base_url)
        self.kind = kind

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.inner is not None and Origin.of(request.url or "") == self.origin:
            return self.inner(request)
        return request

    def exchange(
        self, request: requests.PreparedRequest, send: t.Callable[[requests.PreparedRequest], requests.Response]
    ) -> requests.Response:
        """``request`` (for ``origin``, prepared without credentials) sent with them; a renewable credential is
        renewed on a 401 and the request sent once more."""
        if isinstance(self.inner, auth_types.RenewableAuth):
            return self.inner.exchange(request, send)
        return send(self(request.copy()))

    def facts(self) -> dict[str, t.Any]:
        """For ``--doctor``: which auth, and what its credential's state is (when its token expires)."""
        if self.inner is None:
            return {"auth": "none"}
        facts = getattr(self.inner, "facts", None)
        return facts() if callable(facts) else {"auth": self.kind}


def scoped_authenticators(base_url: str, runtime: AuthRuntime) -> t.Callable[[t.Any], OriginScopedAuth]:
    """How an auth block of the source becomes its authenticator (one per block for the run), scoped to ``base_url``'s origin."""

    def authenticator_for(auth: t.Any) -> OriginScopedAuth:
        if not auth:
            return OriginScopedAuth(None, base_url)
        inner = runtime.shared.get(auth, lambda: AUTH_TYPES[auth["type"]].build(auth, runtime))
        return OriginScopedAuth(inner, base_url, auth["type"])

    return authenticator_for
