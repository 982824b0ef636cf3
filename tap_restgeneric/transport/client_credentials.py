"""OAuth 2 client credentials (the dialect's ``oauth2_client_credentials``): a token from a token URL, renewed
before it expires, shared by every request of the run."""

from __future__ import annotations

import base64
import threading
import time
import typing as t

import requests
from singer_sdk.authenticators import APIAuthenticatorBase
from typing_extensions import override

from tap_restgeneric.errors import StreamError
from tap_restgeneric.output.redact import excerpt
from tap_restgeneric.values import number

if t.TYPE_CHECKING:
    from tap_restgeneric.output.redact import Redactor
    from tap_restgeneric.transport.auth_types import OwnRequests


class OAuth2ClientCredentials(APIAuthenticatorBase):
    """OAuth 2 client credentials, as dlt's ``oauth2_client_credentials``: a form POST to
    ``access_token_url`` of ``grant_type=client_credentials``, ``access_token_request_data`` and,
    as dlt 1.31 sends them, ``client_id`` and ``client_secret`` (``client_auth_method:
    client_secret_post``, the default); ``client_secret_basic`` sends them as HTTP Basic
    instead (RFC 6749 section 2.3.1), for servers that accept only that.

    The token request goes through ``token_requests`` (``auth_types.OwnRequests``: a ``Transport``
    scoped to the token URL's origin, redirects hop by hop, ``request_timeout`` as its deadline, bounded body), is
    retried under the tap's one retry policy (with the ``error_handler`` of the client), and
    fails with one line naming the token URL and status. Every token obtained is given to the
    redactor before it can be logged (the client secret is, with the source's other secrets).
    """

    def __init__(
        self,
        *,
        access_token_url: str,
        client_id: str,
        client_secret: str,
        token_requests: OwnRequests,
        redactor: Redactor,
        access_token_request_data: dict | None = None,
        default_token_expiration: float | None = None,
        client_auth_method: str = "client_secret_post",
    ) -> None:
        super().__init__()
        self._redactor = redactor
        self.access_token_url = access_token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._request_data = access_token_request_data or {}
        self._basic = client_auth_method == "client_secret_basic"
        self._default_expiration = default_token_expiration
        self._requests = token_requests
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
        prepared = self._requests.prepare(requests.Request("POST", url, headers=headers, data=data))
        where = self._requests.where
        response = self._requests(prepared)  # retried under the client's error_handler; a connection failure raises
        status = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
        if response.status_code >= 400:
            snippet = excerpt(response.text)
            refused = ": the token endpoint refused the client credentials" if response.status_code in (400, 401, 403) else ""
            raise StreamError(f"{status}{refused}" + (f" ({snippet})" if snippet else ""), subject=where)
        try:
            body = response.json()
            token = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise StreamError(f"{status} but the response has no access_token", subject=where) from None
        self._redactor.add(token)
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        lifetime = number(expires_in) or number(self._default_expiration)
        # Renew a little early: a token that expires while a request is on the wire fails it.
        return str(token), (time.monotonic() + float(lifetime) * 0.9) if lifetime else None
