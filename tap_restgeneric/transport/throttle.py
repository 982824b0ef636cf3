"""The rate limiter every request of the tap passes: request starts per second, ``Retry-After`` pauses
(the API said so to the client, not to one thread), and the requests in flight at once."""

from __future__ import annotations

import contextlib
import threading
import time
import typing as t


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
