"""DefaultErrorHandler / CompositeErrorHandler / HttpResponseFilter and the backoff strategies ->
the endpoint's ``response_actions`` and ``error_handler`` (the engine's one retry policy).

- IGNORE filters (by ``http_codes`` and/or ``error_message_contains``) -> ``ignore`` actions: the
  response is a page without records and paging ends, as in the CDK.
- RETRY / RATE_LIMITED filters, and the CDK's defaults (429 and 5xx) -> ``retry_on_status_codes``;
  ``max_retries``; a constant or exponential backoff -> ``backoff_factor``; WaitTimeFromHeader reads
  ``Retry-After``-like headers, which the engine honours up to ``max_retry_after``.
- FAIL filters and any other error status: the sync stops with one line (the engine's default).

A filter with a ``predicate`` (a template over the response) has no engine equivalent yet: refused.
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.airbyte.context import PARAMETERS_KEY, Translation, Untranslatable

if t.TYPE_CHECKING:
    from collections.abc import Mapping

#: The CDK's default retried statuses (DEFAULT_ERROR_MAPPING: 429 rate limited, 5xx retried).
CDK_RETRIED = [429, 500, 502, 503, 504]


def error_handling(
    translation: Translation, handler: Mapping[str, t.Any] | None
) -> tuple[list[dict[str, t.Any]], dict[str, t.Any]]:
    """(response_actions, error_handler) of a requester's ``error_handler``."""
    actions: list[dict[str, t.Any]] = []
    retried = list(CDK_RETRIED)
    settings: dict[str, t.Any] = {"max_retries": 5}
    handlers = (handler or {}).get("error_handlers") if (handler or {}).get("type") == "CompositeErrorHandler" else [handler]
    for item in handlers or []:
        if not item:
            continue
        where = str(item.get("$path", "error_handler"))
        parameters = item.get(PARAMETERS_KEY) or {}
        if item.get("max_retries") is not None:
            settings["max_retries"] = int(translation.static(item["max_retries"], f"{where}.max_retries", parameters))
        for strategy in item.get("backoff_strategies") or []:
            factor = strategy.get("backoff_time_in_seconds") or strategy.get("factor")
            if factor is not None:
                settings["backoff_factor"] = float(translation.static(factor, f"{strategy.get('$path')}", parameters))
        for index, response_filter in enumerate(item.get("response_filters") or []):
            at = str(response_filter.get("$path", f"{where}.response_filters[{index}]"))
            if response_filter.get("predicate"):
                raise Untranslatable(f"{at}.predicate", "a response filter's predicate is not supported yet")
            action = str(response_filter.get("action") or "").upper()
            codes = [int(code) for code in response_filter.get("http_codes") or []]
            message = response_filter.get("error_message_contains")
            if action == "IGNORE":
                entry: dict[str, t.Any] = {"action": "ignore"}
                if codes:
                    entry["status_code"] = codes
                if message:
                    entry["content"] = translation.static_text(message, f"{at}.error_message_contains", parameters)
                actions.append(entry)
            elif action in ("RETRY", "RATE_LIMITED"):
                retried.extend(code for code in codes if code not in retried)
            elif action == "FAIL":
                retried = [code for code in retried if code not in codes]
            elif action == "SUCCESS" and codes:
                actions.append({"action": "ignore", "status_code": codes})
    settings["retry_on_status_codes"] = retried
    return actions, settings
