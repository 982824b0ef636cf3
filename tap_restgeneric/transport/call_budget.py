"""A call budget from the config, as Airbyte's ``HTTPAPIBudget``: N calls per period for the requests that match.

Policies are tried in order; the first whose matchers match a request governs it (none matching: no
limit), as the CDK's ``APIBudget``:

- ``fixed_window`` (``FixedWindowCallRatePolicy``): ``call_limit`` calls per ``period`` (ISO 8601). The
  first window starts at the first call. (The CDK starts it ten days ahead of the first call and moves it
  only from reset headers, so without them a spent budget waits ten days.)
- ``moving_window`` (``MovingWindowCallRatePolicy``): every ``rates`` entry (``limit`` calls per
  ``interval``) holds over any interval ending now.
- ``unlimited`` (``UnlimitedCallRatePolicy``): the requests it matches are not limited (a carve-out
  before a broader policy).

A matcher (``HttpRequestRegexMatcher``) matches on ``method`` (any case), ``url_base`` (scheme and host),
``url_path_pattern`` (a regex searched in the path), ``params`` and ``headers`` (each given pair present;
header names in any case); ``weight`` is how many calls a matching request costs (default 1).

Responses update the governing policy as the CDK does: ``ratelimit_remaining_header`` lowers the calls
left (never raises them: the config's budget may be below the API's), ``ratelimit_reset_header`` moves a
fixed window's end, and a status in ``status_codes_for_ratelimit_hit`` (default 429) without a remaining
header spends the window. Reset values are read as :mod:`tap_restgeneric.transport.ratelimits` reads them
(seconds or an epoch, told apart), not always as an epoch as the CDK does.

Thread-safe; time is the injected ``clock`` (epoch seconds) and ``sleep``; :meth:`CallBudget.acquire`
returns the seconds it waited; a wait over ``max_wait`` raises ``RateLimitWaitTooLong`` naming the policy.

Config (proposed, under ``client``, Airbyte's names): ``api_budget: {policies: [{type: fixed_window, period:
PT1M, call_limit: 60, matchers: [{method: GET, url_path_pattern: "^/v1/search"}]}], ratelimit_remaining_header,
ratelimit_reset_header, status_codes_for_ratelimit_hit}``; ``rate_limit.max_wait`` bounds its waits too.
``--doctor``: :meth:`CallBudget.facts` (each policy and the calls left in its window).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import re
import threading
import time
import typing as t
from urllib.parse import parse_qsl, urlsplit

from tap_restgeneric.datetimes import DurationError, add_duration, parse_duration
from tap_restgeneric.errors import SourceConfigError, config_path
from tap_restgeneric.transport.ratelimits import HeaderNames, RateLimitWaitTooLong, read_rate_limit

#: Airbyte's HTTPAPIBudget defaults.
DEFAULT_HEADER_NAMES = HeaderNames(remaining="ratelimit-remaining", reset="ratelimit-reset")
DEFAULT_RATE_LIMIT_STATUSES = frozenset({429})


@dataclasses.dataclass(frozen=True)
class RequestMatcher:
    """Which requests a policy governs (Airbyte's ``HttpRequestRegexMatcher``)."""

    method: str | None = None
    url_base: str | None = None
    url_path_pattern: str | None = None
    params: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    headers: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    weight: int = 1

    def __post_init__(self) -> None:
        if self.weight < 1:
            raise ValueError(f"weight must be 1 or more, not {self.weight}")
        object.__setattr__(self, "_path", re.compile(self.url_path_pattern) if self.url_path_pattern else None)

    def matches(self, method: str, url: str, headers: t.Mapping[str, str]) -> bool:
        parts = urlsplit(url)
        if self.method and method.upper() != self.method.upper():
            return False
        if self.url_base and f"{parts.scheme}://{parts.netloc}" != self.url_base.rstrip("/"):
            return False
        path: re.Pattern | None = getattr(self, "_path")  # noqa: B009 - set in __post_init__ of a frozen dataclass
        if path is not None and not path.search(parts.path.rstrip("/")):
            return False
        if self.params:
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            if any(query.get(str(key)) != str(value) for key, value in self.params.items()):
                return False
        if self.headers:
            lower = {key.lower(): value for key, value in headers.items()}
            if any(lower.get(str(key).lower()) != str(value) for key, value in self.headers.items()):
                return False
        return True

    def describe(self) -> str:
        parts = [self.method or "any method", f"{self.url_base or ''}{self.url_path_pattern or ''}" or "any URL"]
        parts += [f"{key}={value}" for key, value in {**self.params, **self.headers}.items()]
        return " ".join(parts) + (f" (weight {self.weight})" if self.weight != 1 else "")


class Policy(t.Protocol):
    """A call-rate policy: ``reserve`` grants ``weight`` calls (None) or says when to try again."""

    matchers: tuple[RequestMatcher, ...]

    def reserve(self, now: float, weight: int) -> float | None: ...

    def update(self, now: float, available: int | None, reset_at: float | None) -> None: ...

    def describe(self) -> str: ...

    def left(self, now: float) -> int | None: ...


@dataclasses.dataclass
class UnlimitedPolicy:
    matchers: tuple[RequestMatcher, ...]

    def reserve(self, now: float, weight: int) -> float | None:  # noqa: ARG002
        return None

    def update(self, now: float, available: int | None, reset_at: float | None) -> None:
        pass

    def describe(self) -> str:
        return "unlimited"

    def left(self, now: float) -> int | None:  # noqa: ARG002
        return None


@dataclasses.dataclass
class FixedWindowPolicy:
    matchers: tuple[RequestMatcher, ...]
    period: float
    call_limit: int
    window_end: float | None = None
    used: int = 0

    def _roll(self, now: float) -> None:
        if self.window_end is None:
            self.window_end = now + self.period
        elif now >= self.window_end:
            # the window that holds now: whole periods after the last end
            self.window_end += self.period * (1 + (now - self.window_end) // self.period)
            self.used = 0

    def reserve(self, now: float, weight: int) -> float | None:
        self._roll(now)
        if self.used + weight > self.call_limit:
            return self.window_end
        self.used += weight
        return None

    def update(self, now: float, available: int | None, reset_at: float | None) -> None:
        self._roll(now)
        if available is not None and self.call_limit - self.used > available:
            self.used = self.call_limit - available
        if reset_at is not None and reset_at > now:
            self.window_end = reset_at

    def describe(self) -> str:
        return f"{self.call_limit} calls per {self.period:g} s (fixed window)"

    def left(self, now: float) -> int | None:
        self._roll(now)
        return self.call_limit - self.used


@dataclasses.dataclass
class MovingWindowPolicy:
    matchers: tuple[RequestMatcher, ...]
    #: (limit, interval in seconds), each holding over any interval ending now.
    rates: tuple[tuple[int, float], ...]
    calls: collections.deque[tuple[float, int]] = dataclasses.field(default_factory=collections.deque)
    blocked_until: float = 0.0

    def reserve(self, now: float, weight: int) -> float | None:
        if now < self.blocked_until:
            return self.blocked_until
        longest = max(interval for _, interval in self.rates)
        while self.calls and self.calls[0][0] <= now - longest:
            self.calls.popleft()
        retry_at = None
        for limit, interval in self.rates:
            recent = [(at, w) for at, w in self.calls if at > now - interval]
            spent = sum(w for _, w in recent)
            if spent + weight > limit:
                # wait until enough of the oldest calls in this interval have left it
                excess = spent + weight - limit
                for at, w in recent:
                    excess -= w
                    if excess <= 0:
                        retry_at = max(retry_at or 0.0, at + interval)
                        break
        if retry_at is not None:
            return retry_at
        self.calls.append((now, weight))
        return None

    def update(self, now: float, available: int | None, reset_at: float | None) -> None:
        if available is not None and available <= 0:
            # as the CDK: the API says none are left, so the smallest rate's window is spent from now
            interval = min(interval for _, interval in self.rates)
            self.blocked_until = max(self.blocked_until, reset_at if reset_at and reset_at > now else now + interval)

    def describe(self) -> str:
        return ", ".join(f"{limit} calls per {interval:g} s" for limit, interval in self.rates) + " (moving window)"

    def left(self, now: float) -> int | None:
        return min(limit - sum(w for at, w in self.calls if at > now - interval) for limit, interval in self.rates)


class CallBudget:
    """The policies of one ``api_budget``, shared by every stream and thread (see the module docstring)."""

    def __init__(
        self,
        policies: t.Sequence[Policy],
        *,
        names: HeaderNames = DEFAULT_HEADER_NAMES,
        rate_limit_statuses: t.AbstractSet[int] = DEFAULT_RATE_LIMIT_STATUSES,
        max_wait: float | None = None,
        clock: t.Callable[[], float] = time.time,
        sleep: t.Callable[[float], None] = time.sleep,
    ) -> None:
        self.policies = tuple(policies)
        self.names = names
        self.rate_limit_statuses = frozenset(rate_limit_statuses)
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    def governing(self, method: str, url: str, headers: t.Mapping[str, str]) -> tuple[int, Policy, int] | None:
        """The first policy matching the request: its index, itself and the request's weight."""
        for index, policy in enumerate(self.policies):
            for matcher in policy.matchers:
                if matcher.matches(method, url, headers):
                    return index, policy, matcher.weight
            if not policy.matchers:
                return index, policy, 1
        return None

    def acquire(self, method: str, url: str, headers: t.Mapping[str, str] | None = None) -> float:
        """Wait until the governing policy grants the call; returns the seconds waited."""
        found = self.governing(method, url, headers or {})
        if found is None:
            return 0.0
        index, policy, weight = found
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                retry_at = policy.reserve(now, weight)
            if retry_at is None:
                return waited
            wait = max(0.0, retry_at - now)
            if self.max_wait is not None and wait > self.max_wait:
                raise RateLimitWaitTooLong(f"api_budget policy {index + 1}", policy.describe(), wait, retry_at, self.max_wait)
            self._sleep(wait)
            waited += wait

    def observe(
        self, method: str, url: str, request_headers: t.Mapping[str, str], status: int, headers: t.Mapping[str, str]
    ) -> None:
        """Update the governing policy from a response's headers (and a rate-limit status)."""
        found = self.governing(method, url, request_headers)
        if found is None:
            return
        with self._lock:
            now = self._clock()
            reading = read_rate_limit(headers, now, self.names)
            available = reading.remaining if reading else None
            if available is None and status in self.rate_limit_statuses:
                available = 0
            found[1].update(now, available, reading.reset_at if reading else None)

    def facts(self) -> list[dict[str, t.Any]]:
        """For ``--doctor``: each policy, what it governs and the calls left in its window now."""
        with self._lock:
            now = self._clock()
            return [
                {
                    "policy": index + 1,
                    "budget": policy.describe(),
                    "requests": [matcher.describe() for matcher in policy.matchers] or ["every request"],
                    "calls_left": policy.left(now),
                }
                for index, policy in enumerate(self.policies)
            ]


# ---------------------------------------------------------------------------------------------- from the config

POLICY_TYPES = ("fixed_window", "moving_window", "unlimited")
MATCHER_KEYS = frozenset({"method", "url_base", "url_path_pattern", "params", "headers", "weight"})


def _seconds(text: t.Any, where: str) -> float:
    try:
        duration = parse_duration(text, where)
    except DurationError as exc:
        raise SourceConfigError([str(exc)]) from None
    start = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)  # months and years: their length from a fixed day
    seconds = (add_duration(start, duration) - start).total_seconds()
    if seconds <= 0:
        raise SourceConfigError([f"{where}: {text!r} is not a positive duration"])
    return seconds


def _positive_int(value: t.Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SourceConfigError([f"{where}: expected a whole number of calls, 1 or more (got {value!r})"])
    return value


def _matcher(spec: t.Any, where: str) -> RequestMatcher:
    if not isinstance(spec, t.Mapping):
        raise SourceConfigError([f"{where}: expected an object ({', '.join(sorted(MATCHER_KEYS))})"])
    unknown = sorted(set(spec) - MATCHER_KEYS)
    if unknown:
        raise SourceConfigError(
            [f"{config_path(where, key)}: not a matcher key ({', '.join(sorted(MATCHER_KEYS))})" for key in unknown]
        )
    if spec.get("url_path_pattern") is not None:
        try:
            re.compile(spec["url_path_pattern"])
        except (re.error, TypeError) as exc:
            raise SourceConfigError([f"{config_path(where, 'url_path_pattern')}: not a regular expression ({exc})"]) from None
    weight = _positive_int(spec.get("weight", 1), config_path(where, "weight"))
    return RequestMatcher(**{**spec, "weight": weight})


def build_policy(spec: t.Mapping[str, t.Any], where: str) -> Policy:
    kind = spec.get("type")
    if kind not in POLICY_TYPES:
        raise SourceConfigError([f"{config_path(where, 'type')}: {kind!r} is not one of {', '.join(POLICY_TYPES)}"])
    raw_matchers = spec.get("matchers") or []
    if not isinstance(raw_matchers, list):
        raise SourceConfigError([f"{config_path(where, 'matchers')}: expected a list of matchers"])
    matchers = tuple(_matcher(m, config_path(config_path(where, "matchers"), i)) for i, m in enumerate(raw_matchers))
    if kind == "unlimited":
        return UnlimitedPolicy(matchers)
    if kind == "fixed_window":
        limit = _positive_int(spec.get("call_limit"), config_path(where, "call_limit"))
        policy: Policy = FixedWindowPolicy(matchers, _seconds(spec.get("period"), config_path(where, "period")), limit)
    else:
        rates = spec.get("rates")
        if not isinstance(rates, list) or not rates:
            raise SourceConfigError([f"{config_path(where, 'rates')}: expected a list of {{limit, interval}}"])
        moving = MovingWindowPolicy(
            matchers,
            tuple(
                (
                    _positive_int(rate.get("limit") if isinstance(rate, t.Mapping) else None, f"{where}.rates[{i}].limit"),
                    _seconds(rate.get("interval"), f"{where}.rates[{i}].interval"),
                )
                for i, rate in enumerate(rates)
            ),
        )
        policy, limit = moving, min(rate[0] for rate in moving.rates)
    heavy = [m.weight for m in matchers if m.weight > limit]
    if heavy:
        raise SourceConfigError([f"{where}: a matcher weighs {heavy[0]} calls, more than the {limit} the policy allows"])
    return policy


def build_call_budget(spec: t.Mapping[str, t.Any], *, where: str = "api_budget", **runtime: t.Any) -> CallBudget:
    """The budget ``spec`` describes (``policies`` and the header settings); ``runtime``: ``max_wait``, ``clock``, ``sleep``."""
    policies = spec.get("policies")
    if not isinstance(policies, list) or not all(isinstance(p, t.Mapping) for p in policies):
        raise SourceConfigError([f"{config_path(where, 'policies')}: expected a list of policies ({', '.join(POLICY_TYPES)})"])
    statuses = spec.get("status_codes_for_ratelimit_hit") or sorted(DEFAULT_RATE_LIMIT_STATUSES)
    return CallBudget(
        [build_policy(p, config_path(config_path(where, "policies"), i)) for i, p in enumerate(policies)],
        names=HeaderNames(
            spec.get("ratelimit_remaining_header") or DEFAULT_HEADER_NAMES.remaining,
            spec.get("ratelimit_reset_header") or DEFAULT_HEADER_NAMES.reset,
        ),
        rate_limit_statuses=frozenset(statuses),
        **runtime,
    )
