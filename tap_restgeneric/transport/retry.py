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
    ``in_flight`` requests at once (``slot()``: pages ahead, children, streams at once).

    ``clock`` and ``sleep`` are the monotonic clock the starts are decided on and how to wait
    for one (a test passes its own, to check the decisions without waiting for them)."""

    def __init__(
        self,
        per_second: float | None,
        in_flight: int | None = None,
        *,
        clock: t.Callable[[], float] = time.monotonic,
        sleep: t.Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / float(per_second) if per_second else 0.0
        self._clock = clock
        self._sleep = sleep
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

    def wait(self) -> float | None:
        """Wait until the next request may start; returns when that is on ``clock`` (None: no
        limit and no pause, nothing decided)."""
        if not self.interval and not self._paused_until:
            return None
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start, self._paused_until)
            self._next_start = start + self.interval
        if start > now:
            self._sleep(start - now)
        return start

    def pause(self, seconds: float) -> float:
        """No request starts for ``seconds`` from now (a ``Retry-After``); returns when the pause ends."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            return self._paused_until


def retry_delay(
    error_handler: t.Mapping[str, t.Any], response: requests.Response | None, attempt: int, limiter: RateLimiter
) -> float:
    """Seconds to wait before retry number ``attempt + 1`` (see the module docstring)."""
    retry_after = response.headers.get("Retry-After") if response is not None else None
    seconds = retry_after_seconds(retry_after) if retry_after else None
    if seconds is not None:
        seconds = min(max(seconds, 0.0), float(error_handler["max_retry_after"]))  # a date already past: retry now
        limiter.pause(seconds)
        return seconds
    return min(float(error_handler["backoff_factor"]) * (2**attempt), MAX_BACKOFF)


#: ``Retry-After`` as delay-seconds (RFC 9110: digits; a fraction is accepted, as some APIs send one).
_DELAY_SECONDS = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*")


def retry_after_seconds(value: str, now: float | None = None) -> float | None:
    """The seconds a ``Retry-After`` value asks for: delay-seconds, or an HTTP date less ``now``
    (default: the time of day; negative for a date already past, which ``retry_delay`` makes 0), or
    None when it is neither (``nan``, ``inf``, ``-5``, garbage): the normal backoff then applies. A
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
