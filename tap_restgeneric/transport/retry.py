"""The one retry policy of the tap: every request (a stream's pages, an OAuth2 token) is sent under it.

A response with a status the error handler lists (``retry_on_status_codes``), a connection that
fails, times out or breaks, and a body that cannot be read are tried again, up to ``max_retries``
times. The delay is ``Retry-After`` when the response has a valid one (seconds or an HTTP date),
capped at ``max_retry_after``, and it pauses every request of the tap, not only the one that got
it (the API said so to the client, not to one thread); otherwise (none, or ``nan``, ``inf``,
negative, garbage) ``backoff_factor * 2 ** attempt``, capped at ``MAX_BACKOFF``.
"""

from __future__ import annotations

import dataclasses
import email.utils
import math
import re
import time
import typing as t

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_restgeneric.errors import stream_line
from tap_restgeneric.output.redact import excerpt
from tap_restgeneric.transport.origins import display_url

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_restgeneric.transport.throttle import RateLimiter

#: Ceiling of the exponential backoff between retries, in seconds.
MAX_BACKOFF = 300
#: A connection that fails, times out or breaks while the body is read.
CONNECTION_FAILURES = (
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
#: What is tried again: those, and a retriable status or an unreadable body (``RetriableAPIError``).
RETRIABLE = (RetriableAPIError, *CONNECTION_FAILURES)
_T = t.TypeVar("_T")


class RetriableResponse(RetriableAPIError):
    """A response to send again (a status the error handler lists, or a body that could not be read),
    about a stream (its text is the stream's line; ``message`` the line's own part)."""

    def __init__(self, message: str, response: requests.Response, *, stream: str | None = None) -> None:
        self.message = message
        self.stream = stream
        super().__init__(stream_line(stream, message) if stream is not None else message, response)


class FatalResponse(FatalAPIError):
    """A response that ends the stream (an error status not retried), about a stream."""

    def __init__(self, message: str, *, stream: str | None = None) -> None:
        self.message = message
        self.stream = stream
        super().__init__(stream_line(stream, message) if stream is not None else message)


class ErrorHandlerConfig(t.TypedDict, total=False):
    """``error_handler`` of the dialect (the client's, a resource's or an endpoint's)."""

    retry_on_status_codes: list[int]
    max_retries: int
    backoff_factor: float
    max_retry_after: float


DEFAULT_ERROR_HANDLER: ErrorHandlerConfig = {
    "retry_on_status_codes": [429, 500, 502, 503, 504],
    "max_retries": 5,
    "backoff_factor": 1,
    "max_retry_after": 60,
}


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """An error handler's retries (``error_handler`` of a resource, or of the client for token requests)."""

    retry_on_status_codes: frozenset[int]
    max_retries: int
    backoff_factor: float
    max_retry_after: float

    @classmethod
    def of(cls, error_handler: ErrorHandlerConfig) -> RetryPolicy:
        return cls(
            frozenset(error_handler["retry_on_status_codes"]),
            int(error_handler["max_retries"]),
            float(error_handler["backoff_factor"]),
            float(error_handler["max_retry_after"]),
        )

    @property
    def attempts(self) -> int:
        return self.max_retries + 1

    def check(self, response: requests.Response, stream: str | None = None) -> None:
        """A response whose status is an error: ``RetriableResponse`` (a status retried) or ``FatalResponse``,
        each saying the status and the URL (the body's start for a fatal one)."""
        status = response.status_code
        if status < 400:
            return
        where = f"HTTP {status} {response.reason or ''}".rstrip() + f" from {display_url(response.url)}"
        if status in self.retry_on_status_codes:
            raise RetriableResponse(where, response, stream=stream)
        if status in (401, 403):
            raise FatalResponse(f"{where}: the API refused the credentials (check `secrets` and client.auth)", stream=stream)
        snippet = excerpt(response.text) if response.content else ""
        raise FatalResponse(f"{where}: {snippet}" if snippet else where, stream=stream)

    def delay(self, response: requests.Response | None, attempt: int, limiter: RateLimiter) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (see the module docstring)."""
        retry_after = response.headers.get("Retry-After") if response is not None else None
        seconds = retry_after_seconds(retry_after) if retry_after else None
        if seconds is not None:
            seconds = min(max(seconds, 0.0), self.max_retry_after)  # a date already past: retry now
            limiter.pause(seconds)
            return seconds
        return min(self.backoff_factor * (2**attempt), MAX_BACKOFF)

    def run(
        self,
        attempt: Callable[[], _T],
        limiter: RateLimiter,
        on_retry: Callable[[BaseException, float, int], None],
        sleep: Callable[[float], None] = time.sleep,
    ) -> _T:
        """``attempt()`` until it returns, tried again after each ``RETRIABLE`` failure (``on_retry(error,
        seconds, tries)`` says so before the wait); the last failure is raised once ``attempts`` are spent."""
        tries = 0
        while True:
            try:
                return attempt()
            except RETRIABLE as exc:  # noqa: PERF203 - a retry loop
                tries += 1
                if tries >= self.attempts:
                    raise
                seconds = self.delay(getattr(exc, "response", None), tries - 1, limiter)
                on_retry(exc, seconds, tries)
                sleep(seconds)


#: ``Retry-After`` as delay-seconds (RFC 9110: digits; a fraction is accepted, as some APIs send one).
_DELAY_SECONDS = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*")


def retry_after_seconds(value: str, now: float | None = None) -> float | None:
    """The seconds a ``Retry-After`` value asks for: delay-seconds, or an HTTP date less ``now``
    (default: the time of day; negative for a date already past, which ``RetryPolicy.delay`` makes 0),
    or None when it is neither (``nan``, ``inf``, ``-5``, garbage): the normal backoff then applies. A
    huge value is capped by the caller (``max_retry_after``)."""
    seconds = _DELAY_SECONDS.fullmatch(value)
    if seconds is not None:
        return float(seconds.group(1))  # finite: at most ~1e308 for the digits a header can hold, or inf
    try:
        when = email.utils.parsedate_to_datetime(value)
        delay = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return delay if math.isfinite(delay) else None
