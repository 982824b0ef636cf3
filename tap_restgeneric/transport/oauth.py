"""OAuth2 access tokens: the refresh-token grant (rotating refresh tokens included) and client credentials.

One :class:`OAuth2Tokens` per credentials, shared by every stream and thread of the run:

- the access token is obtained on first use and renewed ``refresh_margin`` seconds before it expires
  (at most a tenth of its lifetime), not once expired as the CDK does (a request would leave with a token
  that expires on the wire), and once more on a 401 (:func:`~tap_restgeneric.transport.renewal.send_authenticated`);
- one token request at a time (single-flight): threads that need a token while it is being renewed wait
  for that request and use its token;
- a refresh token the response carries (``refresh_token_name``: rotating providers issue a new one with
  each access token and revoke the old) is written to the :class:`~tap_restgeneric.transport.token_store.TokenStore`
  *before* it is used or the access token is handed out, and the next run starts from it rather than the
  config's (unless the config was given a new one); the run holds the store's claim on these credentials;
- the token request goes through the injected ``send`` (the caller's transport for the token URL's
  origin, with the one retry policy and the recording); it is a form POST (or query parameters) with
  ``grant_type``, the client credentials in the body or as HTTP Basic, the refresh token, ``scopes`` and
  the extra body fields;
- every token obtained, the client secret (raw and Basic-encoded) and each refresh token are registered
  with the redactor before anything could write them.

Config (dlt's ``oauth2_client_credentials`` keeps its keys: ``access_token_url``, ``client_id``,
``client_secret``, ``access_token_request_data``, ``default_token_expiration``, ``client_auth_method``;
proposed ``type: oauth2_refresh_token`` with Airbyte's ``OAuthAuthenticator`` names):
``token_refresh_endpoint``, ``grant_type`` (``refresh_token``), ``client_id``, ``client_secret``,
``refresh_token``, ``scopes``, ``refresh_request_body``, ``refresh_request_headers``,
``send_refresh_request_as_query_params``, ``client_auth_method`` (``client_secret_post`` or
``client_secret_basic``), ``access_token_name``, ``expires_in_name`` (a key found at any depth as the CDK
finds it, or a list of keys: a path), ``token_expiry_date_format`` (a format of ``datetimes``: the expiry
is a date), ``token_expiry_is_time_of_expiration``, ``refresh_token_updater.refresh_token_name``,
``refresh_token_error_status_codes`` / ``_key`` / ``_values``, ``grant_type_name``, ``client_id_name``,
``client_secret_name``, ``refresh_token_name``, and the tap's ``refresh_margin`` and ``token_store``.
``--doctor``: :meth:`OAuth2Tokens.facts` (grant, token URL, expiry, where the refresh token came from).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import math
import time
import typing as t
from urllib.parse import urlsplit, urlunsplit

import requests

from tap_restgeneric.datetimes import epoch_to_iso, parse_datetime, parse_iso8601
from tap_restgeneric.errors import StreamError
from tap_restgeneric.output.redact import REDACTOR
from tap_restgeneric.transport.renewal import SingleFlight
from tap_restgeneric.transport.token_store import TokenStore, entry_key, seed_digest

#: The CDK's lifetime of a token whose response gives none (dlt's default_token_expiration default too).
DEFAULT_LIFETIME = 3600.0
#: How deep a key named alone is looked for in the response, as the CDK's search.
_SEARCH_DEPTH = 5


class OAuthError(StreamError):
    """The token endpoint refused or answered something without a token; the line names the URL."""


@dataclasses.dataclass(frozen=True)
class OAuth2Settings:
    """What the config says (see the module docstring); paths are tuples of keys."""

    token_refresh_endpoint: str
    grant_type: str = "refresh_token"
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    scopes: tuple[str, ...] = ()
    #: RFC 6749's ``scope="a b"``; the CDK sends ``scopes`` once per scope (name "scopes", separator None).
    scopes_name: str = "scope"
    scopes_separator: str | None = " "
    refresh_request_body: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    refresh_request_headers: t.Mapping[str, str] = dataclasses.field(default_factory=dict)
    client_auth_method: t.Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    send_refresh_request_as_query_params: bool = False
    grant_type_name: str = "grant_type"
    client_id_name: str = "client_id"
    client_secret_name: str = "client_secret"  # noqa: S105 - field names, not secrets
    refresh_token_name: str = "refresh_token"  # noqa: S105
    access_token_name: tuple[str, ...] = ("access_token",)
    expires_in_name: tuple[str, ...] = ("expires_in",)
    #: Where a rotated refresh token is in the response (Airbyte's refresh_token_updater.refresh_token_name).
    rotated_refresh_token_name: tuple[str, ...] = ("refresh_token",)
    token_expiry_date_format: str | None = None
    token_expiry_is_time_of_expiration: bool = False
    default_token_expiration: float | None = None
    refresh_margin: float = 60.0
    refresh_token_error_status_codes: tuple[int, ...] = (400, 401)
    refresh_token_error_key: str = "error"  # noqa: S105
    refresh_token_error_values: tuple[str, ...] = ("invalid_grant",)
    #: An access token to use until it is refused (the CDK's access_token_value).
    access_token_value: str | None = None


def find_value(body: t.Any, path: tuple[str, ...]) -> t.Any:
    """The value at ``path``; a path of one key is looked for at the top, then at any depth (up to 5) as the CDK does."""
    if len(path) > 1:
        for key in path:
            if not isinstance(body, dict) or key not in body:
                return None
            body = body[key]
        return body
    return _search(body, path[0], 0)


def _search(body: t.Any, key: str, depth: int) -> t.Any:
    if depth > _SEARCH_DEPTH:
        return None
    if isinstance(body, dict):
        if key in body:
            return body[key]
        children: t.Iterable[t.Any] = body.values()
    elif isinstance(body, list):
        children = body
    else:
        return None
    for child in children:
        found = _search(child, key, depth + 1)
        if found is not None:
            return found
    return None


def without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def bearer(request: requests.PreparedRequest, token: str) -> requests.PreparedRequest:
    request.headers["Authorization"] = f"Bearer {token}"
    return request


class OAuth2Tokens:
    """Access tokens for one set of OAuth2 credentials (see the module docstring)."""

    def __init__(
        self,
        settings: OAuth2Settings,
        *,
        send: t.Callable[[requests.PreparedRequest], requests.Response],
        store: TokenStore | None = None,
        clock: t.Callable[[], float] = time.time,
    ) -> None:
        if settings.grant_type == "refresh_token" and not settings.refresh_token:
            raise OAuthError("OAuth2: grant_type refresh_token needs a refresh_token")
        self.settings = settings
        self._send = send
        self._store = store
        self._clock = clock
        REDACTOR.add(settings.client_secret, settings.refresh_token, settings.access_token_value)
        if settings.client_id and settings.client_secret:
            REDACTOR.add_basic(settings.client_id, settings.client_secret)
        self._key = entry_key(settings.token_refresh_endpoint, settings.client_id)
        self._claim = contextlib.ExitStack()
        self._refresh_token = settings.refresh_token
        self._refresh_source = "config"
        self._started = False
        #: The access token as a renewable credential (``current``, ``renew``, ``authenticate``), sent as a bearer.
        self.credential = SingleFlight(self._refresh, bearer, clock, settings.access_token_value)
        self._expires_at: float | None = None
        self.requests = 0
        self.rotations = 0

    @property
    def where(self) -> str:
        return f"OAuth2 token request to {without_query(self.settings.token_refresh_endpoint)}"

    def close(self) -> None:
        """Release the token store's claim on these credentials (the end of the run)."""
        self._claim.close()

    # ------------------------------------------------------------------ the token request

    def _start(self) -> None:
        """Claim the credentials in the store for this run, and start from its refresh token when newer."""
        self._started = True
        if self._store is None or self.settings.grant_type != "refresh_token":
            return
        self._claim.enter_context(self._store.claim(self._key))
        self._refresh_token, self._refresh_source = self._store.refresh_token_for(
            self._key, t.cast("str", self.settings.refresh_token)
        )

    def token_request(self) -> requests.PreparedRequest:
        """The token request, prepared (nothing sent)."""
        s = self.settings
        headers = {"Accept": "application/json", **s.refresh_request_headers}
        fields: dict[str, t.Any] = {s.grant_type_name: s.grant_type}
        if s.client_auth_method == "client_secret_basic":
            pair = f"{s.client_id or ''}:{s.client_secret or ''}"
            headers["Authorization"] = f"Basic {base64.b64encode(pair.encode()).decode()}"
        elif not any(name.lower() == "authorization" for name in s.refresh_request_headers):
            # as the CDK: credentials go in the body unless a header already carries them
            fields[s.client_id_name] = s.client_id
            fields[s.client_secret_name] = s.client_secret
        if s.grant_type == "refresh_token":
            fields[s.refresh_token_name] = self._refresh_token
        if s.scopes:
            fields[s.scopes_name] = s.scopes_separator.join(s.scopes) if s.scopes_separator is not None else list(s.scopes)
        for key, value in s.refresh_request_body.items():
            fields.setdefault(key, value)  # the standard fields win, as in the CDK
        query = fields if s.send_refresh_request_as_query_params else None
        body = None if s.send_refresh_request_as_query_params else fields
        return requests.Request("POST", s.token_refresh_endpoint, headers=headers, data=body, params=query).prepare()

    def _refresh(self) -> tuple[str, float]:
        """A new access token and when to renew it (the refresh token rotated and stored first)."""
        if not self._started:
            self._start()
        now = self._clock()
        response = self._send(self.token_request())
        self.requests += 1
        body = self._body(response)
        token = find_value(body, self.settings.access_token_name)
        if not isinstance(token, str) or not token:
            raise OAuthError(
                f"{self.where}: HTTP {response.status_code} but the response has no {'.'.join(self.settings.access_token_name)}"
            )
        REDACTOR.add(token)
        rotated = (
            find_value(body, self.settings.rotated_refresh_token_name) if self.settings.grant_type == "refresh_token" else None
        )
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            REDACTOR.add(rotated)
            if self._store is not None:  # stored before anything uses it: a run killed now still has it
                self._store.save(self._key, rotated, seed_digest(t.cast("str", self.settings.refresh_token)))
            self._refresh_token = rotated
            self._refresh_source = (
                f"rotated in this run (stored in {self._store.path})" if self._store else "rotated in this run (not stored)"
            )
            self.rotations += 1
        expires_at = self._expiry(body, now)
        lifetime = max(0.0, expires_at - now)
        self._expires_at = expires_at
        return token, expires_at - min(self.settings.refresh_margin, lifetime / 10)

    def _body(self, response: requests.Response) -> t.Any:
        status = f"HTTP {response.status_code}"
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            raise OAuthError(f"{self.where}: {status}{self._refusal(response.status_code, body)}")
        if not isinstance(body, (dict, list)):
            raise OAuthError(f"{self.where}: {status} but the response is not a JSON object")
        return body

    def _refusal(self, status: int, body: t.Any) -> str:
        s = self.settings
        error = body.get(s.refresh_token_error_key) if isinstance(body, dict) else None
        described = body.get("error_description") if isinstance(body, dict) else None
        detail = " ".join(REDACTOR(str(part))[:200] for part in (error, described) if part)
        if (
            s.grant_type == "refresh_token"
            and status in s.refresh_token_error_status_codes
            and error in s.refresh_token_error_values
        ):
            hint = (
                f": the refresh token (from {self._refresh_source}) was refused; authorise again and put the new "
                "refresh token in the config"
            )
        elif status in (400, 401, 403):
            hint = ": the token endpoint refused the client credentials"
        else:
            hint = ""
        return hint + (f" ({detail})" if detail else "")

    def _expiry(self, body: t.Any, now: float) -> float:
        s = self.settings
        value = find_value(body, s.expires_in_name)
        if value is None:
            return now + (s.default_token_expiration or DEFAULT_LIFETIME)
        name = ".".join(s.expires_in_name)
        try:
            if s.token_expiry_date_format:
                return parse_datetime(value, s.token_expiry_date_format).timestamp()
            seconds = float(value)
        except (TypeError, ValueError):
            if s.token_expiry_is_time_of_expiration and isinstance(value, str):
                with contextlib.suppress(TypeError, ValueError):
                    return parse_iso8601(value).timestamp()
            raise OAuthError(
                f"{self.where}: {name} {value!r} is not "
                + (f"a date in {s.token_expiry_date_format!r}" if s.token_expiry_date_format else "a number of seconds")
                + " (set token_expiry_date_format when it is a date)"
            ) from None
        if not math.isfinite(seconds):
            raise OAuthError(f"{self.where}: {name} {value!r} is not a number of seconds")
        return seconds if s.token_expiry_is_time_of_expiration else now + seconds

    def facts(self) -> dict[str, t.Any]:
        """For ``--doctor``: the grant, token URL, when the token expires and where the refresh token came from."""
        expires = self._expires_at
        return {
            "auth": f"oauth2 ({self.settings.grant_type})",
            "token_url": without_query(self.settings.token_refresh_endpoint),
            "token_expires_at": epoch_to_iso(expires) if expires else None,
            "refresh_token_from": self._refresh_source if self.settings.grant_type == "refresh_token" else None,
            "token_requests": self.requests,
            "rotations": self.rotations,
        }
