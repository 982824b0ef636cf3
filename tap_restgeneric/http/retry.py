"""How long to wait before a retry, and the rate limiter every request of the tap passes.

The delay is ``Retry-After`` when the response has a valid one (seconds or an HTTP date), capped
at the error handler's ``max_retry_after``; otherwise (none, or ``nan``, ``inf``, negative,
garbage) ``backoff_factor * 2 ** attempt``, capped at ``MAX_BACKOFF``. A ``Retry-After`` pauses every request of the tap, not only
the one that got it: the API said so to the client, not to one thread.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import re
import threading
import time
import typing as t

if t.TYPE_CHECKING:
    import requests

#: Ceiling of the exponential backoff between retries, in seconds.
MAX_BACKOFF = 300


class RateLimiter:
    """Shared by every stream and thread of a tap: at most ``per_second`` request starts
    per second (when set), no request during a ``Retry-After`` pause, and at most
    ``in_flight`` requests at once (``slot()``: pages ahead, children, streams at once)."""

    def __init__(self, per_second: float | None, in_flight: int | None = None) -> None:
        self.interval = 1.0 / float(per_second) if per_second else 0.0
        self._lock = threading.Lock()
        self._next_start = 0.0
        self._paused_until = 0.0
        self._slots = threading.BoundedSemaphore(in_flight) if in_flight else None

    @contextlib.contextmanager
    def slot(self) -> t.Iterator[None]:
        """Hold one of the ``in_flight`` request slots while a request is on the wire."""
        if self._slots is None:
            yield
            return
        with self._slots:
            yield

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


def retry_delay(
    error_handler: t.Mapping[str, t.Any], response: requests.Response | None, attempt: int, limiter: RateLimiter
) -> float:
    """Seconds to wait before retry number ``attempt + 1`` (see the module docstring)."""
    retry_after = response.headers.get("Retry-After") if response is not None else None
    seconds = retry_after_seconds(retry_after) if retry_after else None
    if seconds is not None:
        seconds = min(seconds, float(error_handler["max_retry_after"]))
        limiter.pause(seconds)
        return seconds
    return min(float(error_handler["backoff_factor"]) * (2**attempt), MAX_BACKOFF)


#: ``Retry-After`` as delay-seconds (RFC 9110: digits; a fraction is accepted, as some APIs send one).
_DELAY_SECONDS = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*")


def retry_after_seconds(value: str) -> float | None:
    """The seconds a ``Retry-After`` value asks for (0 for a date already past), or None when it is
    neither delay-seconds nor an HTTP date (``nan``, ``inf``, ``-5``, garbage): the normal backoff
    then applies. A huge value is capped by the caller (``max_retry_after``)."""
    seconds = _DELAY_SECONDS.fullmatch(value)
    if seconds is not None:
        return float(seconds.group(1))  # finite: at most ~1e308 for the digits a header can hold, or inf
    try:
        when = email.utils.parsedate_to_datetime(value)
        delay = when.timestamp() - time.time()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return max(delay, 0.0) if math.isfinite(delay) else None
