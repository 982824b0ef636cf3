"""HTTPAPIBudget -> the client's ``api_budget`` (the engine's call budgets, shared by every stream).

FixedWindowCallRatePolicy -> ``fixed_window`` (``call_limit`` per ``period``), MovingWindowCallRatePolicy
-> ``moving_window`` (``rates``), UnlimitedCallRatePolicy -> ``unlimited`` (a carve-out); each policy's
HttpRequestRegexMatchers (method, url_base, url_path_pattern, params, headers, weight) say which requests
it governs. The rate-limit headers and the statuses that mean "budget spent" are kept.
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.airbyte.context import PARAMETERS_KEY, Translation, Untranslatable

if t.TYPE_CHECKING:
    from collections.abc import Mapping

_POLICIES = {
    "FixedWindowCallRatePolicy": "fixed_window",
    "MovingWindowCallRatePolicy": "moving_window",
    "UnlimitedCallRatePolicy": "unlimited",
}
_MATCHER_KEYS = ("method", "url_base", "url_path_pattern", "params", "headers", "weight")
#: The budget component types this module translates.
TYPES = frozenset({"HTTPAPIBudget", *_POLICIES, "HttpRequestRegexMatcher", "Rate"})


def api_budget(translation: Translation, budget: Mapping[str, t.Any] | None) -> dict[str, t.Any] | None:
    """The engine's ``api_budget`` of a manifest's ``api_budget`` (None: none)."""
    if not budget:
        return None
    where = str(budget.get("$path", "api_budget"))
    if budget.get("type") != "HTTPAPIBudget":
        raise Untranslatable(where, f"api_budget {budget.get('type')} is not supported")
    parameters = budget.get(PARAMETERS_KEY) or {}
    policies = []
    for index, policy in enumerate(budget.get("policies") or []):
        at = f"{where}.policies[{index}]"
        kind = _POLICIES.get(str(policy.get("type")))
        if kind is None:
            raise Untranslatable(at, f"call rate policy {policy.get('type')} is not supported")
        entry: dict[str, t.Any] = {"type": kind}
        if kind == "fixed_window":
            entry["call_limit"] = int(translation.static(policy.get("call_limit"), f"{at}.call_limit", parameters))
            entry["period"] = translation.static_text(policy.get("period"), f"{at}.period", parameters)
        if kind == "moving_window":
            entry["rates"] = [
                {
                    "limit": int(translation.static(rate.get("limit"), f"{at}.rates[{i}].limit", parameters)),
                    "interval": translation.static_text(rate.get("interval"), f"{at}.rates[{i}].interval", parameters),
                }
                for i, rate in enumerate(policy.get("rates") or [])
            ]
        matchers = [{k: m[k] for k in _MATCHER_KEYS if m.get(k) not in (None, {}, "")} for m in policy.get("matchers") or []]
        if matchers:
            entry["matchers"] = matchers
        policies.append(entry)
    found: dict[str, t.Any] = {"policies": policies}
    for key in ("ratelimit_remaining_header", "ratelimit_reset_header"):
        if budget.get(key):
            found[key] = translation.static_text(budget[key], f"{where}.{key}", parameters)
    if budget.get("status_codes_for_ratelimit_hit"):
        found["status_codes_for_ratelimit_hit"] = [int(code) for code in budget["status_codes_for_ratelimit_hit"]]
    return found
