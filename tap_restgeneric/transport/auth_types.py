"""The dialect's auth types that send requests of their own or renew their credential: ``oauth2_refresh_token``,
``session_login`` and ``jwt`` (``selective`` is resolved when the source is read: see ``source.auth_check``).

Each factory reads a rendered auth block (templates already rendered, credentials from ``secrets``) into the
typed settings of its building block (``OAuth2Settings``, ``SessionLoginSettings``, ``JwtSettings``: plain
dataclasses an Airbyte manifest can build too) and returns an authenticator for ``OriginScopedAuth``: a callable
that adds the credential to a request, with ``facts()`` for ``--doctor`` and, for a renewable credential,
``exchange(request, send)``: a 401 renews it (one renewal at a time for every thread) and the same request is
sent once more.

The token and login requests go through a ``Transport`` scoped to the token or login URL's origin (which may be
another origin than ``base_url``): the client secret, refresh token and login credentials travel only there
(and never to a host a redirect names: the body holds credentials), under the client's retry policy, recorded
with their credentials masked.
"""

from __future__ import annotations

import json
import threading
import typing as t

import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_restgeneric.errors import StreamError, Subject
from tap_restgeneric.transport.bodies import connection_problem
from tap_restgeneric.transport.deadlines import new_session
from tap_restgeneric.transport.jwt_auth import JwtAuth, JwtSettings
from tap_restgeneric.transport.oauth import OAuth2Settings, OAuth2Tokens
from tap_restgeneric.transport.origins import Origin, display_url
from tap_restgeneric.transport.renewal import RenewableCredential, send_authenticated
from tap_restgeneric.transport.retry import CONNECTION_FAILURES
from tap_restgeneric.transport.session_login import SessionLoginSettings, SessionToken
from tap_restgeneric.transport.token_store import TokenStore
from tap_restgeneric.transport.wire import Transport

if t.TYPE_CHECKING:
    from tap_restgeneric.transport.auth import AuthRuntime
    from tap_restgeneric.transport.auth_configs import JwtAuthConfig, OAuth2RefreshTokenAuth, SessionLoginAuth

Send = t.Callable[[requests.PreparedRequest], requests.Response]


def path_of(value: t.Any, default: tuple[str, ...]) -> tuple[str, ...]:
    """A path into a response: a list of keys, or a string with dots between them."""
    if value is None:
        return default
    if isinstance(value, str):
        return tuple(value.split("."))
    return tuple(str(step) for step in value)


def request_sender(url: str, runtime: AuthRuntime, what: str) -> Send:
    """How a token or login request to ``url`` is sent: its own origin, the client's retry policy, the rate limiter."""
    where = f"{what} {display_url(url)}"
    transport = Transport(
        session=new_session(),
        origin=Origin.of(url),
        about=Subject(other=where),
        timeout=runtime.timeout,
        max_bytes=runtime.max_bytes,
        logger=runtime.logger,
        secret_headers={"Authorization"},
        secret_body=True,
        tape=runtime.tape,
        holds_credentials=True,
    )
    policy = runtime.policy

    def send(prepared: requests.PreparedRequest) -> requests.Response:
        def attempt() -> requests.Response:
            runtime.rate_limiter.wait()
            response = transport.send(prepared)
            if response.status_code in policy.retry_on_status_codes:
                raise RetriableAPIError(f"HTTP {response.status_code}", response)
            return response

        def retrying(exception: BaseException, seconds: float, tries: int) -> None:  # noqa: ARG001 - (a policy's callback)
            reason = str(exception) if isinstance(exception, RetriableAPIError) else connection_problem(exception)
            runtime.logger.warning("%s: retrying (attempt %d): %s", where, tries, reason)

        try:
            return policy.run(attempt, runtime.rate_limiter, retrying)
        except RetriableAPIError as exc:  # the last attempt's status: the caller says what it means
            return t.cast("requests.Response", exc.response)
        except CONNECTION_FAILURES as exc:
            raise StreamError(f"{where} failed after {policy.attempts} attempts: {connection_problem(exc)}") from None

    return send


class RenewableAuth:
    """A renewable credential as an authenticator: the current one added to each request; on a 401 renewed
    (single-flight) and the same request sent once more (``exchange``)."""

    def __init__(self, credential: RenewableCredential, facts: t.Callable[[], dict[str, t.Any]]) -> None:
        self.credential = credential
        self.facts = facts

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return self.credential.apply(request, self.credential.current())

    def exchange(self, request: requests.PreparedRequest, send: Send) -> requests.Response:
        return send_authenticated(send, request, self.credential)


class JwtAuthenticator:
    """A JWT signed by the tap, added to each request."""

    def __init__(self, jwt: JwtAuth) -> None:
        self.facts = jwt.facts
        self._jwt = jwt

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return self._jwt.authenticate(request)


def oauth2_refresh_token(cfg: OAuth2RefreshTokenAuth, runtime: AuthRuntime) -> RenewableAuth:
    url = cfg["access_token_url"]
    scopes = cfg.get("scopes") or ()
    updater = cfg.get("refresh_token_updater") or {}
    settings = OAuth2Settings(
        token_refresh_endpoint=url,
        client_id=cfg.get("client_id"),
        client_secret=cfg.get("client_secret"),
        refresh_token=cfg["refresh_token"],
        scopes=(scopes,) if isinstance(scopes, str) else tuple(scopes),
        refresh_request_body=cfg.get("access_token_request_data") or {},
        client_auth_method=t.cast("t.Any", cfg.get("client_auth_method") or "client_secret_post"),
        access_token_name=path_of(cfg.get("access_token_name"), ("access_token",)),
        expires_in_name=path_of(cfg.get("expires_in_name"), ("expires_in",)),
        rotated_refresh_token_name=path_of(updater.get("refresh_token_name"), ("refresh_token",)),
        token_expiry_date_format=cfg.get("token_expiry_date_format"),
        default_token_expiration=cfg.get("default_token_expiration"),
        refresh_margin=float(cfg.get("refresh_margin", 60.0)),
    )
    store = TokenStore(runtime.token_store)
    tokens = OAuth2Tokens(settings, send=request_sender(url, runtime, "OAuth2 token request to"), store=store)
    runtime.shared.on_close(tokens.close)
    return RenewableAuth(tokens.credential, lambda: {**tokens.facts(), "token_store": str(store.path)})


def session_login(cfg: SessionLoginAuth, runtime: AuthRuntime) -> RenewableAuth:
    url = cfg["login_url"]
    token_path = cfg.get("session_token_path")
    try:
        settings = SessionLoginSettings(
            login_url=url,
            method=cfg.get("method", "POST"),
            login_body_json=cfg.get("login_body_json"),
            login_body_data=cfg.get("login_body_data"),
            login_headers={str(k): str(v) for k, v in (cfg.get("login_headers") or {}).items()},
            username=cfg.get("username"),
            password=cfg.get("password"),
            session_token_path=path_of(token_path, ()) if token_path is not None else None,
            session_token_header=cfg.get("session_token_header"),
            expiration_duration=cfg.get("expiration_duration"),
            inject_into=t.cast("t.Any", cfg.get("inject_into", "header")),
            field_name=cfg.get("field_name", "Authorization"),
        )
    except ValueError as exc:
        raise StreamError(str(exc)) from None
    session = SessionToken(settings, send=request_sender(url, runtime, "session login to"))
    return RenewableAuth(session.credential, session.facts)


def jwt(cfg: JwtAuthConfig, runtime: AuthRuntime) -> JwtAuthenticator:  # noqa: ARG001
    headers = cfg.get("jwt_headers") or {}
    payload = cfg.get("jwt_payload") or {}
    option = cfg.get("request_option") or {}
    settings = JwtSettings(
        secret_key=cfg["secret_key"],
        algorithm=cfg.get("algorithm", "HS256"),
        token_duration=cfg.get("token_duration", 1200),
        base64_encode_secret_key=bool(cfg.get("base64_encode_secret_key", False)),
        header_prefix=cfg.get("header_prefix"),
        kid=headers.get("kid"),
        typ=headers.get("typ", "JWT"),
        cty=headers.get("cty"),
        iss=payload.get("iss"),
        sub=payload.get("sub"),
        aud=payload.get("aud"),
        additional_jwt_headers=cfg.get("additional_jwt_headers") or {},
        additional_jwt_payload=cfg.get("additional_jwt_payload") or {},
        passphrase=cfg.get("passphrase"),
        inject_into="query" if option.get("inject_into") in ("query", "request_parameter") else "header",
        field_name=option.get("field_name", "Authorization"),
    )
    return JwtAuthenticator(JwtAuth(settings))


class SharedAuth:
    """The run's authenticators, one per auth block (the client's and a resource's, if the same, are one: one
    token, one refresh at a time, one claim on the token store), and what to close at the end of the run."""

    def __init__(self) -> None:
        self._built: dict[str, t.Any] = {}
        self._closers: list[t.Callable[[], None]] = []
        self._lock = threading.Lock()

    def get(self, auth: t.Mapping[str, t.Any], build: t.Callable[[], t.Any]) -> t.Any:
        key = json.dumps(auth, sort_keys=True, default=str)
        with self._lock:
            if key not in self._built:
                self._built[key] = build()
            return self._built[key]

    def on_close(self, close: t.Callable[[], None]) -> None:
        self._closers.append(close)

    def close(self) -> None:
        """Release what the run holds (the token store's claims), once it is over."""
        closers, self._closers = self._closers, []
        for close in closers:
            close()
