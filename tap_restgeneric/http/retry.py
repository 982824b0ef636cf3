"""How long to wait before a retry, and the rate limiter every request of the tap passes.

The delay is ``Retry-After`` when the response has one (seconds or an HTTP date), capped
at the error handler's ``max_retry_after``; otherwise ``backoff_factor * 2 ** attempt``,
capped at ``MAX_BACKOFF``. A ``Retry-After`` pauses every request of the tap, not only
the one that got it: the API said so to the client, not to one thread.
"""

from __future__ import annotations

import email.utils
import threading
import time
import typing as t

import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from typing_extensions import override

from tap_restgeneric.http.transport import connection_problem, display_url

#: Ceiling of the exponential backoff between retries, in seconds.
MAX_BACKOFF = 300


class RateLimiter:
    """Shared by every stream and thread of a tap: at most ``per_second`` request starts
    per second (when set), and no request during a ``Retry-After`` pause."""

    def __init__(self, per_second: float | None) -> None:
        self.interval = 1.0 / float(per_second) if per_second else 0.0
        self._lock = threading.Lock()
        self._next_start = 0.0
        self._paused_until = 0.0

    def wait(self) -> None:
        if not self.interval and not self._paused_until:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start, self._paused_until)
            self._next_start = start + self.interval
        if start > now:
            time.sleep(start - now)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)


def retry_delay(error_handler: t.Mapping[str, t.Any], response: requests.Response | None, attempt: int, limiter: RateLimiter) -> float:
    """Seconds to wait before retry number ``attempt + 1`` (see the module docstring)."""
    retry_after = response.headers.get("Retry-After") if response is not None else None
    if retry_after:
        seconds = retry_after_seconds(retry_after)
        if seconds is not None:
            seconds = min(max(seconds, 0.0), float(error_handler["max_retry_after"]))
            limiter.pause(seconds)
            return seconds
    return min(float(error_handler["backoff_factor"]) * (2**attempt), MAX_BACKOFF)


def retry_after_seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


class RetryingStream(RESTStream):
    """The SDK's response and backoff hooks, driven by a resource's ``error_handler``:
    which statuses are retried, how often, and how long to wait (``retry_delay``)."""

    error_handler: t.Mapping[str, t.Any]
    rate_limiter: RateLimiter

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        where = f"stream '{self.name}': HTTP {status} {response.reason or ''}".rstrip() + f" from {display_url(response.url)}"
        if status in frozenset(self.error_handler["retry_on_status_codes"]):
            raise RetriableAPIError(where, response)
        if status in (401, 403):
            raise FatalAPIError(f"{where}: the API refused the credentials (check `secrets` and client.auth)")
        snippet = response.text[:200].replace("\n", " ") if response.content else ""
        raise FatalAPIError(f"{where}: {snippet}" if snippet else where)

    @override
    def backoff_max_tries(self) -> int:
        return int(self.error_handler["max_retries"]) + 1

    @override
    def backoff_jitter(self, value: float) -> float:
        return value

    @override
    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:
        def waits() -> t.Generator[float, t.Any, None]:
            exception = yield  # type: ignore[misc]  # backoff primes the generator with send(None)
            attempt = 0
            while True:
                exception = yield self.retry_delay(exception, attempt)
                attempt += 1

        return waits()

    def retry_delay(self, exception: Exception, attempt: int) -> float:
        """See :func:`tap_restgeneric.http.retry.retry_delay`."""
        return retry_delay(self.error_handler, getattr(exception, "response", None), attempt, self.rate_limiter)

    @override
    def backoff_handler(self, details: t.Any) -> None:
        exception = details.get("exception")
        reason = str(exception) if isinstance(exception, (RetriableAPIError, requests.exceptions.Timeout)) else connection_problem(exception)
        self.logger.warning("Retrying in %.2f s (attempt %d): %s", details.get("wait") or 0, details.get("tries"), reason)
