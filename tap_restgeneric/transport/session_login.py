"""Session-token login (Airbyte's ``SessionTokenAuthenticator``): log in, then send the session token with each request.

- The login request: ``login_url`` with ``method`` (POST), a JSON (``login_body_json``) or form
  (``login_body_data``) body, ``login_headers``, and optionally HTTP Basic (``username``/``password``);
  the caller renders its templates (credentials from ``secrets``) and registers those secrets. It goes
  through the injected ``send`` (the caller's transport for the login URL's origin, with the retry policy).
- The token is read from the response body at ``session_token_path`` (a path of keys, Airbyte's), decoded by
  the injected ``decode`` (JSON by default; the caller may pass the XML decoder), or from a response header
  (``session_token_header``). It is registered for redaction at once.
- It is sent as a header (``inject_into: header`` with ``field_name``), a query parameter (``query``), a
  cookie (``cookie``), or as ``Authorization: Bearer`` (``bearer``, Airbyte's
  ``SessionTokenRequestBearerAuthenticator``); ``value_format`` turns it into the value sent (Airbyte's
  ``api_token: "Token {{ session_token }}"``, compiled by the caller).
- Logged in again when ``expiration_duration`` (ISO 8601, e.g. ``PT1H``) has passed, a tenth of it (at most
  a minute) early, and on a 401, after which the same request is sent once more
  (:func:`~tap_restgeneric.transport.renewal.send_authenticated`): the page being read is not lost. Without a
  duration the token is kept until a 401. (The CDK logs in again only by duration, and before every request
  when none is given; a 401 fails its stream.)
- One login at a time for all threads (single-flight).

Config (proposed ``type: session_login``, Airbyte's names): ``login_url``, ``method``, ``login_body_json`` |
``login_body_data``, ``login_headers``, ``username``, ``password``, ``session_token_path`` |
``session_token_header``, ``expiration_duration``, ``inject_into`` (header | query | cookie | bearer),
``field_name``, ``api_token`` (a template of ``session_token``). ``--doctor``: :meth:`SessionToken.facts`.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import time
import typing as t
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from tap_restgeneric.datetimes import Duration, add_duration, epoch_to_iso, parse_duration
from tap_restgeneric.errors import StreamError
from tap_restgeneric.output.redact import REDACTOR
from tap_restgeneric.transport.oauth import find_value, without_query
from tap_restgeneric.transport.renewal import SingleFlight

INJECT_INTO = ("header", "query", "cookie", "bearer")
_MAX_MARGIN = 60.0


@dataclasses.dataclass(frozen=True)
class SessionLoginSettings:
    """What the config says (templates already rendered; see the module docstring)."""

    login_url: str
    method: str = "POST"
    login_body_json: t.Mapping[str, t.Any] | None = None
    login_body_data: t.Mapping[str, t.Any] | None = None
    login_headers: t.Mapping[str, str] = dataclasses.field(default_factory=dict)
    username: str | None = None
    password: str | None = None
    session_token_path: tuple[str, ...] | None = None
    session_token_header: str | None = None
    expiration_duration: str | None = None
    inject_into: t.Literal["header", "query", "cookie", "bearer"] = "header"
    field_name: str = "Authorization"
    value_format: t.Callable[[str], str] | None = None

    def __post_init__(self) -> None:
        if (self.session_token_path is None) == (self.session_token_header is None):
            raise ValueError("session login: give session_token_path or session_token_header (one of them)")
        if self.inject_into not in INJECT_INTO:
            raise ValueError(f"session login: inject_into {self.inject_into!r} is not one of {', '.join(INJECT_INTO)}")


class SessionLoginError(StreamError):
    """The login was refused or its response had no token; the line names the login URL."""


def _json(response: requests.Response) -> t.Any:
    return response.json()


class SessionToken:
    """The session token of one login, shared by every stream and thread (see the module docstring)."""

    def __init__(
        self,
        settings: SessionLoginSettings,
        *,
        send: t.Callable[[requests.PreparedRequest], requests.Response],
        decode: t.Callable[[requests.Response], t.Any] = _json,
        clock: t.Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._duration: Duration | None = (
            parse_duration(settings.expiration_duration, "expiration_duration") if settings.expiration_duration else None
        )
        REDACTOR.add(settings.password)
        if settings.username and settings.password:
            REDACTOR.add_basic(settings.username, settings.password)
        self._send = send
        self._decode = decode
        self._clock = clock
        #: The session token as a renewable credential (``current``, ``renew``, ``authenticate``).
        self.credential = SingleFlight(self._login, self._apply, clock)
        self._expires_at: float | None = None
        self.logins = 0

    @property
    def where(self) -> str:
        return f"session login to {without_query(self.settings.login_url)}"

    def _apply(self, request: requests.PreparedRequest, credential: str) -> requests.PreparedRequest:
        s = self.settings
        value = s.value_format(credential) if s.value_format else credential
        if s.inject_into == "bearer":
            request.headers["Authorization"] = f"Bearer {value}"
        elif s.inject_into == "header":
            request.headers[s.field_name] = value
        elif s.inject_into == "cookie":
            existing = request.headers.get("Cookie")
            request.headers["Cookie"] = f"{existing}; {s.field_name}={value}" if existing else f"{s.field_name}={value}"
        else:
            parts = urlsplit(request.url or "")
            query = [*parse_qsl(parts.query, keep_blank_values=True), (s.field_name, value)]
            request.url = urlunsplit(parts._replace(query=urlencode(query)))
        return request

    def login_request(self) -> requests.PreparedRequest:
        s = self.settings
        return requests.Request(
            s.method.upper(),
            s.login_url,
            headers={"Accept": "application/json", **s.login_headers},
            json=s.login_body_json,
            data=s.login_body_data,
            auth=(s.username, s.password or "") if s.username is not None else None,
        ).prepare()

    def _login(self) -> tuple[str, float]:
        """A new session token and when to log in again."""
        now = self._clock()
        response = self._send(self.login_request())
        self.logins += 1
        if response.status_code >= 400:
            refused = (
                ": the login was refused (check the credentials it sends)" if response.status_code in (400, 401, 403) else ""
            )
            raise SessionLoginError(f"{self.where}: HTTP {response.status_code}{refused}")
        token = self._token_in(response)
        REDACTOR.add(token)
        if self._duration is None:
            self._expires_at = None
            return token, math.inf
        moment = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc)
        self._expires_at = add_duration(moment, self._duration).timestamp()
        return token, self._expires_at - min(_MAX_MARGIN, (self._expires_at - now) / 10)

    def _token_in(self, response: requests.Response) -> str:
        s = self.settings
        if s.session_token_header is not None:
            token = response.headers.get(s.session_token_header)
            missing = f"no header {s.session_token_header}"
        else:
            try:
                body = self._decode(response)
            except (ValueError, StreamError):
                raise SessionLoginError(
                    f"{self.where}: HTTP {response.status_code} but the response could not be decoded"
                ) from None
            token = find_value(body, s.session_token_path) if s.session_token_path else None
            missing = f"no token at {'.'.join(s.session_token_path or ())}"
        if token is None or isinstance(token, (dict, list)) or token == "":
            raise SessionLoginError(f"{self.where}: HTTP {response.status_code} but the response has {missing}")
        return str(token)

    def facts(self) -> dict[str, t.Any]:
        """For ``--doctor``: the login URL, how the token is sent, when it expires, how many logins."""
        s = self.settings
        expires = self._expires_at
        return {
            "auth": "session login",
            "login_url": without_query(s.login_url),
            "sent_as": "Authorization: Bearer" if s.inject_into == "bearer" else f"{s.inject_into} {s.field_name}",
            "token_expires_at": epoch_to_iso(expires) if expires else None,
            "logins": self.logins,
        }
