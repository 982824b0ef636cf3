"""Rate budgets an API announces in its response headers, kept per origin: wait for the reset instead of a 429.

Read from a response (:func:`read_rate_limit`), in this order, the first that is there:

- the header names the config gives (``ratelimit_remaining_header`` / ``ratelimit_reset_header``, Airbyte's
  ``HTTPAPIBudget`` keys);
- IETF ``RateLimit``: the structured-field form of the current draft (``"default";r=0;t=30``: ``r``
  remaining, ``t`` seconds until the reset; of several policies, the most exhausted) and the older
  dictionary form (``limit=100, remaining=0, reset=30``);
- the older IETF drafts' ``RateLimit-Remaining`` / ``RateLimit-Reset`` / ``RateLimit-Limit``;
- ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` / ``X-RateLimit-Limit`` (and ``X-Rate-Limit-*``).

A reset is a number of seconds until it or an epoch time, told apart by size: a value above the current
epoch minus a day is an epoch (above 10^11, in milliseconds), anything smaller is seconds from now (no
budget resets 50 years ahead). The CDK reads every reset header as an epoch, so the IETF ``RateLimit-Reset:
30`` (seconds) is to it a time in 1970 and never waits. An HTTP date or ISO 8601 time is read as such.
``RateLimit-Policy`` (``"default";q=100;w=60``, or ``100;w=60``) is kept for ``--doctor`` only.

``Retry-After`` is not read here: the retry policy and the tap's rate limiter (``transport.retry``,
``transport.throttle``) already pause every request of the run for it.

:class:`OriginRateLimit` holds one origin's budget, shared by every stream and thread that requests it.
Each request takes a turn (``with limit.turn() as turn: ... turn.observe(headers)``). When the
remaining count is 0 and a reset time is known, the next turn waits until the reset. The count is
decremented as turns start, and a response's count is lowered by the other requests still in flight (the
server may not have counted them yet): with requests in parallel, up to ``max_concurrency`` calls of a
window can go unused, but none meets a 429. A remaining 0 without a reset time waits for nothing (the
API's 429 and its Retry-After then decide, through the retry policy). A wait longer than ``max_wait`` raises
:class:`RateLimitWaitTooLong` naming the origin, the header that asked and the wait, instead of waiting.
Time is the injected ``clock`` (epoch seconds) and ``sleep``: every decision is returned (``turn.waited``).

Config (proposed, under ``client``): ``rate_limit: {max_wait: 900, ratelimit_remaining_header: ...,
ratelimit_reset_header: ...}`` (Airbyte's names; dlt has none). ``--doctor``: :meth:`OriginRateLimit.facts`
(remaining, reset, which header).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import email.utils
import math
import re
import threading
import time
import typing as t

from tap_restgeneric.datetimes import epoch_to_iso, parse_iso8601
from tap_restgeneric.errors import StreamError

#: Above this a reset is an epoch in milliseconds (10^11 seconds is the year 5138).
_MILLISECONDS_EPOCH = 1e11
_DAY = 86400.0
_STRUCTURED_ITEM = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[^;,\s]+)((?:\s*;\s*[A-Za-z0-9_*.-]+(?:=(?:"[^"]*"|[^;,\s]*))?)*)\s*')
_PARAMETER = re.compile(r';\s*([A-Za-z0-9_*.-]+)(?:=("[^"]*"|[^;,\s]*))?')


class RateLimitWaitTooLong(StreamError):
    """A budget asks for a longer wait than allowed: the stream stops (STATE already saved) instead of waiting."""

    def __init__(self, budget: str, reason: str, seconds: float, until: float, limit: float) -> None:
        self.budget = budget
        self.seconds = seconds
        self.until = until
        super().__init__(
            f"{budget}: {reason} asks to wait {seconds:,.0f} s (until {epoch_to_iso(until)}), longer than the "
            f"{limit:g} s allowed (rate_limit.max_wait); stopping instead of waiting"
        )


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _date(text: str) -> float | None:
    """An HTTP date (RFC 9110) or ISO 8601 time, as epoch seconds."""
    with contextlib.suppress(TypeError, ValueError, IndexError):
        parsed = email.utils.parsedate_to_datetime(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return parsed.timestamp()
    with contextlib.suppress(TypeError, ValueError, OverflowError):
        return parse_iso8601(text).timestamp()
    return None


def reset_time(value: str, now: float) -> float | None:
    """When a budget resets, as epoch seconds, from seconds-until-reset or an epoch (see the module docstring)."""
    text = value.strip()
    number = _finite(text)
    if number is None:
        return _date(text) if text else None
    if number >= _MILLISECONDS_EPOCH:
        return number / 1000
    return number if number > now - _DAY else now + number


def _count(value: str | None) -> int | None:
    """A remaining or limit count; of a list (``10, 5``) the smallest."""
    if value is None:
        return None
    counts = [_finite(part) for part in value.split(",")]
    numbers = [int(c) for c in counts if c is not None]
    return min(numbers) if numbers else None


@dataclasses.dataclass(frozen=True)
class RateLimitReading:
    """What a response said about its origin's budget (None: not said)."""

    remaining: int | None
    reset_at: float | None
    limit: int | None
    source: str
    #: RateLimit-Policy as sent, for the doctor.
    policy: str | None = None


@dataclasses.dataclass(frozen=True)
class HeaderNames:
    """Header names the config gives (Airbyte's ``ratelimit_remaining_header``/``ratelimit_reset_header``)."""

    remaining: str | None = None
    reset: str | None = None


def _structured(value: str) -> list[dict[str, str]]:
    items = []
    for part in _split_list(value):
        match = _STRUCTURED_ITEM.fullmatch(part)
        if match is None:
            continue
        params = {key.lower(): (raw or "").strip('"') for key, raw in _PARAMETER.findall(match.group(2))}
        items.append({"": match.group(1).strip('"'), **params})
    return items


def _split_list(value: str) -> list[str]:
    """Members of a structured-field list (commas inside quotes do not split)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def _ietf(value: str, now: float, policy: str | None) -> RateLimitReading | None:
    items = _structured(value)
    if any("r" in item or "t" in item for item in items):  # the current draft: "name";r=..;t=..
        readings = [(_count(item.get("r")), _finite(item.get("t", ""))) for item in items]
        remaining = min((r for r, _ in readings if r is not None), default=None)
        exhausted = [s for r, s in readings if r is not None and r <= 0 and s is not None]
        seconds = max(exhausted) if exhausted else max((s for _, s in readings if s is not None), default=None)
        return RateLimitReading(remaining, None if seconds is None else now + seconds, None, "RateLimit", policy)
    fields = {item[""].partition("=")[0].strip().lower(): item[""].partition("=")[2] for item in items}
    if "remaining" in fields or "reset" in fields:  # the older drafts' limit=, remaining=, reset=
        reset = _finite(fields.get("reset", ""))
        return RateLimitReading(
            _count(fields.get("remaining")),
            None if reset is None else now + reset,
            _count(fields.get("limit")),
            "RateLimit",
            policy,
        )
    return None


def read_rate_limit(headers: t.Mapping[str, str], now: float, names: HeaderNames = HeaderNames()) -> RateLimitReading | None:
    """What ``headers`` say about the budget, at ``now`` (epoch seconds); None when they say nothing."""
    lower = {key.lower(): value for key, value in headers.items()}
    policy = lower.get("ratelimit-policy")
    if names.remaining or names.reset:
        remaining = _count(lower.get((names.remaining or "").lower()))
        reset_text = lower.get((names.reset or "").lower())
        reset = reset_time(reset_text, now) if reset_text else None
        if remaining is not None or reset is not None:
            return RateLimitReading(remaining, reset, None, ", ".join(n for n in (names.remaining, names.reset) if n), policy)
    if "ratelimit" in lower:
        reading = _ietf(lower["ratelimit"], now, policy)
        if reading is not None:
            return reading
    for prefix, source in (("ratelimit-", "RateLimit-*"), ("x-ratelimit-", "X-RateLimit-*"), ("x-rate-limit-", "X-Rate-Limit-*")):
        remaining = _count(lower.get(prefix + "remaining"))
        reset_text = lower.get(prefix + "reset")
        reset = reset_time(reset_text, now) if reset_text else None
        if remaining is not None or reset is not None:
            return RateLimitReading(remaining, reset, _count(lower.get(prefix + "limit")), source, policy)
    return None


class Turn:
    """One request's turn at an origin: how long it waited, and what its response said."""

    def __init__(self, limit: OriginRateLimit) -> None:
        #: Seconds this request waited for its turn.
        self.waited = 0.0
        self.reading: RateLimitReading | None = None
        self._limit = limit

    def observe(self, headers: t.Mapping[str, str]) -> RateLimitReading | None:
        """Read the response's rate-limit headers into the origin's budget."""
        self.reading = self._limit.observe(self, headers)
        return self.reading


class OriginRateLimit:
    """One origin's budget, from its responses' headers; thread-safe, one per origin (see the module docstring)."""

    def __init__(
        self,
        origin: str,
        *,
        max_wait: float | None = None,
        names: HeaderNames = HeaderNames(),
        clock: t.Callable[[], float] = time.time,
        sleep: t.Callable[[float], None] = time.sleep,
    ) -> None:
        self.origin = origin
        self.max_wait = max_wait
        self.names = names
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._remaining: int | None = None
        self._reset_at: float | None = None
        self._reason = ""
        self._in_flight: set[Turn] = set()
        self._last: RateLimitReading | None = None

    @contextlib.contextmanager
    def turn(self) -> t.Iterator[Turn]:
        """Wait until a request may start (raises RateLimitWaitTooLong), then hold its turn while it is on the wire."""
        turn = Turn(self)
        turn.waited = self._wait(turn)
        try:
            yield turn
        finally:
            with self._lock:
                self._in_flight.discard(turn)

    def _wait(self, turn: Turn) -> float:
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                if self._reset_at is not None and now >= self._reset_at:
                    self._remaining, self._reset_at = None, None  # a new window: the count is unknown again
                until, reason = self._blocked_until()
                if until is None:
                    if self._remaining is not None:
                        self._remaining -= 1
                    self._in_flight.add(turn)
                    return waited
            wait = until - now
            if self.max_wait is not None and wait > self.max_wait:
                raise RateLimitWaitTooLong(f"rate limit of {self.origin}", reason, wait, until, self.max_wait)
            self._sleep(wait)
            waited += wait

    def _blocked_until(self) -> tuple[float | None, str]:
        exhausted = self._remaining is not None and self._remaining <= 0 and self._reset_at is not None
        if exhausted:
            return self._reset_at, self._reason
        return None, ""

    def observe(self, turn: Turn, headers: t.Mapping[str, str]) -> RateLimitReading | None:
        with self._lock:
            now = self._clock()
            self._in_flight.discard(turn)
            reading = read_rate_limit(headers, now, self.names)
            if reading is None:
                return None
            self._last = reading
            if reading.remaining is not None:
                # Lowered by the requests still in flight (the server may not have counted them yet). In the
                # same window a count only goes down: a response overtaken by a later one says too much.
                count = reading.remaining - len(self._in_flight)
                new_window = self._remaining is None or _later_window(reading.reset_at, self._reset_at)
                self._remaining = count if new_window else min(t.cast("int", self._remaining), count)
                self._reason = f"{reading.source} remaining {reading.remaining}"
            if reading.reset_at is not None:
                self._reset_at = reading.reset_at
            return reading

    def facts(self) -> dict[str, t.Any]:
        """For ``--doctor``: what the origin's last response said and what the next request would wait for."""
        with self._lock:
            until, reason = self._blocked_until()
            last = self._last
            return {
                "origin": self.origin,
                "header": last.source if last else None,
                "remaining": last.remaining if last else None,
                "limit": last.limit if last else None,
                "resets_at": epoch_to_iso(last.reset_at) if last and last.reset_at else None,
                "policy": last.policy if last else None,
                "next_request_waits_until": epoch_to_iso(until) if until else None,
                "because": reason or None,
            }


def _later_window(reset_at: float | None, current: float | None) -> bool:
    """A reset more than a second after the one known (seconds-until-reset drift by the response's latency)."""
    return reset_at is not None and current is not None and reset_at > current + 1


class OriginRateLimits:
    """One :class:`OriginRateLimit` per origin, made on first use and shared by every stream and thread."""

    def __init__(self, factory: t.Callable[[str], OriginRateLimit]) -> None:
        self._factory = factory
        self._limits: dict[str, OriginRateLimit] = {}
        self._lock = threading.Lock()

    def __call__(self, origin: str) -> OriginRateLimit:
        with self._lock:
            found = self._limits.get(origin)
            if found is None:
                found = self._limits[origin] = self._factory(origin)
            return found

    def facts(self) -> list[dict[str, t.Any]]:
        with self._lock:
            limits = list(self._limits.values())
        return [limit.facts() for limit in limits]
