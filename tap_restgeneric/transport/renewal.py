"""A credential that can be renewed (an OAuth2 access token, a session token), and sending with it.

A request that gets a 401 is sent once more after the credential is renewed, with the same page
token, params and body, so no page is lost to an expired token; a second 401 is the caller's to
report. The renewal is single-flight: of several threads whose requests got a 401 with the same
token, one renews it and the others use the result (``renew(stale)`` renews only while ``stale``
is still the current token).
"""

from __future__ import annotations

import math
import threading
import typing as t

if t.TYPE_CHECKING:
    import requests

UNAUTHORIZED = 401


class RenewableCredential(t.Protocol):
    def current(self) -> str:
        """A credential valid now (obtained or renewed first when needed)."""
        ...

    def renew(self, stale: str) -> str:
        """A new credential, unless another thread already replaced ``stale``; returns the current one."""
        ...

    def apply(self, request: requests.PreparedRequest, credential: str) -> requests.PreparedRequest:
        """``request`` carrying ``credential`` (header, query or cookie)."""
        ...


def send_authenticated(
    send: t.Callable[[requests.PreparedRequest], requests.Response],
    request: requests.PreparedRequest,
    credential: RenewableCredential,
) -> requests.Response:
    """Send ``request`` (prepared without credentials) with the current credential; on a 401, renew it
    and send the same request once more."""
    token = credential.current()
    response = send(credential.apply(request.copy(), token))
    if response.status_code == UNAUTHORIZED:
        response = send(credential.apply(request.copy(), credential.renew(token)))
    return response


class SingleFlight:
    """A :class:`RenewableCredential` from ``obtain()`` (a credential and when to renew it, on ``clock``) and
    ``apply`` (how a request carries it). Obtained one at a time: threads that need it meanwhile wait for
    that one and use it."""

    def __init__(
        self,
        obtain: t.Callable[[], tuple[str, float]],
        apply: t.Callable[[requests.PreparedRequest, str], requests.PreparedRequest],
        clock: t.Callable[[], float],
        token: str | None = None,
    ) -> None:
        self._obtain = obtain
        self._apply = apply
        self._clock = clock
        self._lock = threading.Lock()
        self.token = token
        self.renew_at = math.inf

    def current(self) -> str:
        token = self.token
        if token is not None and self._clock() < self.renew_at:
            return token
        with self._lock:
            if self.token is None or self._clock() >= self.renew_at:
                self.token, self.renew_at = self._obtain()
            return self.token

    def renew(self, stale: str) -> str:
        with self._lock:
            if self.token is None or self.token == stale:
                self.token, self.renew_at = self._obtain()
            return self.token

    def apply(self, request: requests.PreparedRequest, credential: str) -> requests.PreparedRequest:
        return self._apply(request, credential)

    def authenticate(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """``request`` with the current credential (an authenticator for the transport)."""
        return self._apply(request, self.current())
