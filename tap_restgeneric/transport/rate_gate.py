"""The rate gate every request of a stream passes, shared by every stream and thread of the run.

Two budgets, each per run (not per stream):

- the budget an API announces in its responses' headers, per origin
  (:class:`~tap_restgeneric.transport.ratelimits.OriginRateLimit`: ``X-RateLimit-Remaining``/``-Reset``, the IETF
  ``RateLimit``/``RateLimit-Policy``, or the header names ``client.rate_limit`` gives): at remaining 0 the next
  request to that origin waits until the reset instead of meeting a 429;
- the fixed budgets of ``client.api_budget`` (:class:`~tap_restgeneric.transport.call_budget.CallBudget`, Airbyte's
  ``HTTPAPIBudget``): N calls per period for the requests a policy matches by method, path, params or headers.

A wait longer than ``client.rate_limit.max_wait`` (default :data:`DEFAULT_MAX_WAIT` s) raises
``RateLimitWaitTooLong`` instead of waiting: the stream stops with one line naming the origin or policy, the
header that asked and the wait, and the records already written are covered by the STATE.
``Retry-After`` stays with the retry policy and the tap's rate limiter (``transport.retry``, ``transport.throttle``),
which already pause every request of the run for it.
"""

from __future__ import annotations

import contextlib
import typing as t

from tap_restgeneric.transport.call_budget import build_call_budget
from tap_restgeneric.transport.origins import Origin
from tap_restgeneric.transport.ratelimits import HeaderNames, OriginRateLimit, OriginRateLimits

if t.TYPE_CHECKING:
    import requests

    from tap_restgeneric.transport.call_budget import CallBudget

#: Seconds a request may wait for a budget before its stream stops instead (an hour: GitHub's window).
DEFAULT_MAX_WAIT = 3600.0

Observe = t.Callable[["requests.Response"], None]


class RateGate:
    """The run's header-driven budgets per origin and its fixed call budget (see the module docstring)."""

    def __init__(self, limits: OriginRateLimits, budget: CallBudget | None = None) -> None:
        self.limits = limits
        self.budget = budget

    @classmethod
    def of(
        cls,
        rate_limit: t.Mapping[str, t.Any],
        api_budget: t.Mapping[str, t.Any] | None,
        **runtime: t.Any,
    ) -> RateGate:
        """The gate of ``client.rate_limit`` and ``client.api_budget``; ``runtime``: ``clock`` and ``sleep``."""
        max_wait = rate_limit.get("max_wait", DEFAULT_MAX_WAIT)
        names = HeaderNames(rate_limit.get("ratelimit_remaining_header"), rate_limit.get("ratelimit_reset_header"))
        limits = OriginRateLimits(lambda origin: OriginRateLimit(origin, max_wait=max_wait, names=names, **runtime))
        budget = build_call_budget(api_budget, where="client.api_budget", max_wait=max_wait, **runtime) if api_budget else None
        return cls(limits, budget)

    @contextlib.contextmanager
    def turn(self, request: requests.PreparedRequest) -> t.Iterator[Observe]:
        """Wait until ``request`` may go (or raise ``RateLimitWaitTooLong``); yields what its response is told to."""
        method, url, headers = request.method or "GET", request.url or "", request.headers
        if self.budget is not None:
            self.budget.acquire(method, url, headers)
        with self.limits(str(Origin.of(url))).turn() as turn:

            def observe(response: requests.Response) -> None:
                turn.observe(response.headers)
                if self.budget is not None:
                    self.budget.observe(method, url, headers, response.status_code, response.headers)

            yield observe

    def facts(self) -> dict[str, t.Any]:
        """For ``--doctor``: each origin's budget as its last response said, and the fixed budgets' calls left."""
        return {"origins": self.limits.facts(), "api_budget": self.budget.facts() if self.budget is not None else None}
