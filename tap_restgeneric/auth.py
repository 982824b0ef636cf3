"""Authenticators of the dialect (``client.auth.type``), built from the SDK's.

``AUTHENTICATORS`` maps a ``type`` to a factory taking the auth config (templates
already rendered). ``AUTH_OPTIONS`` lists the keys each type accepts and requires.
``HostScopedAuth`` makes sure credentials only travel to the host of ``base_url``.
"""

from __future__ import annotations

import base64
import typing as t
from urllib.parse import urlsplit

from singer_sdk.authenticators import (
    APIAuthenticatorBase,
    APIKeyAuthenticator,
    BasicAuthenticator,
    BearerTokenAuthenticator,
    OAuthAuthenticator,
)

if t.TYPE_CHECKING:
    import requests


class CookieAPIKeyAuthenticator(APIAuthenticatorBase):
    """An API key sent as a cookie (dlt's ``location: cookie``); the SDK has header/params only."""

    def __init__(self, *, key: str, value: str) -> None:
        super().__init__()
        self.key = key
        self.value = value

    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        cookie = f"{self.key}={self.value}"
        existing = request.headers.get("Cookie")
        request.headers["Cookie"] = f"{existing}; {cookie}" if existing else cookie
        return request


class ClientCredentialsAuthenticator(OAuthAuthenticator):
    """OAuth 2 client credentials, as dlt's ``oauth2_client_credentials``: the client
    id and secret travel as HTTP Basic to ``access_token_url``, with
    ``grant_type=client_credentials`` plus ``access_token_request_data`` in the body.
    """

    def __init__(self, *, access_token_request_data: dict | None = None, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self._request_data = access_token_request_data or {}
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        self._oauth_headers = {"Authorization": f"Basic {basic}", **self._oauth_headers}

    @property
    def oauth_request_body(self) -> dict:
        return {"grant_type": "client_credentials", **self._request_data}


def _api_key(cfg: dict) -> APIAuthenticatorBase:
    name = cfg.get("name", "Authorization")
    location = cfg.get("location", "header")
    if location == "cookie":
        return CookieAPIKeyAuthenticator(key=name, value=cfg["api_key"])
    return APIKeyAuthenticator(key=name, value=cfg["api_key"], location="params" if location == "query" else "header")


def _bearer(cfg: dict) -> APIAuthenticatorBase:
    return BearerTokenAuthenticator(token=cfg["token"])


def _http_basic(cfg: dict) -> APIAuthenticatorBase:
    return BasicAuthenticator(username=cfg["username"], password=cfg.get("password", ""))


def _oauth2_client_credentials(cfg: dict) -> APIAuthenticatorBase:
    return ClientCredentialsAuthenticator(
        auth_endpoint=cfg["access_token_url"],
        client_id=cfg["client_id"],
        client_secret=cfg["client_secret"],
        access_token_request_data=cfg.get("access_token_request_data"),
        default_expiration=cfg.get("default_token_expiration"),
    )


AUTHENTICATORS: dict[str, t.Callable[[dict], APIAuthenticatorBase]] = {
    "api_key": _api_key,
    "bearer": _bearer,
    "http_basic": _http_basic,
    "oauth2_client_credentials": _oauth2_client_credentials,
}

#: type -> (accepted keys, required keys); ``type`` itself is implied.
AUTH_OPTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "api_key": (frozenset({"name", "api_key", "location"}), frozenset({"api_key"})),
    "bearer": (frozenset({"token"}), frozenset({"token"})),
    "http_basic": (frozenset({"username", "password"}), frozenset({"username"})),
    "oauth2_client_credentials": (
        frozenset({"access_token_url", "client_id", "client_secret", "access_token_request_data", "default_token_expiration"}),
        frozenset({"access_token_url", "client_id", "client_secret"}),
    ),
}
API_KEY_LOCATIONS = ("header", "query", "cookie")
#: Keys whose values are credentials, redacted wherever the tap writes.
SECRET_KEYS = frozenset({"api_key", "token", "password", "client_secret"})


class HostScopedAuth:
    """Applies ``inner`` only to requests for ``host`` (the host of ``base_url``):
    a next link to another host is requested without credentials."""

    def __init__(self, inner: t.Callable | None, base_url: str) -> None:
        self.inner = inner
        self.netloc = urlsplit(base_url).netloc.lower()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.inner is not None and urlsplit(request.url or "").netloc.lower() == self.netloc:
            return self.inner(request)
        return request
