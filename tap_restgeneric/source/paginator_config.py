"""A paginator block of the source config: its type (dlt's aliases resolved), the keys that type
accepts (its class's ``__init__`` parameters, the one list), templates compiled, JSONPaths checked."""

from __future__ import annotations

import typing as t

from tap_restgeneric.errors import config_path
from tap_restgeneric.paging.paginators import PAGINATOR_ALIASES, paginator_options
from tap_restgeneric.paging.selectors import JSONPath
from tap_restgeneric.templates import PAGINATOR_NAMES, Template


def check_paginator(
    paginator: dict | None,
    where: str,
    problem: t.Callable[[str, str], None],
    compile_template: t.Callable[[t.Any, str, t.AbstractSet[str]], t.Any],
) -> dict:
    """The paginator as the streams read it (``{"type": "auto"}`` when there is none)."""
    if not paginator:
        return {"type": "auto"}
    paginator = dict(paginator)
    kind = PAGINATOR_ALIASES.get(paginator["type"], paginator["type"])
    paginator["type"] = kind
    options = paginator_options(kind)
    for key in sorted(set(paginator) - options - {"type"}):
        valid = f"valid keys: type, {', '.join(sorted(options))}" if options else "it takes no other keys"
        problem(config_path(where, key), f"unknown key for paginator type {kind!r} ({valid})")
    if kind == "offset" and "limit" not in paginator:
        problem(f"{where}.limit", "required for paginator type 'offset'")
    if kind == "cursor":
        if "cursor_value" in paginator and "cursor_path" in paginator:
            problem(where, "set either cursor_path (dlt) or cursor_value (template), not both")
        for key in ("cursor_value", "stop_condition"):
            if key in paginator:
                compiled = compile_template(paginator[key], config_path(where, key), PAGINATOR_NAMES)
                if compiled is not None and not isinstance(compiled, Template):
                    problem(config_path(where, key), "must be a template such as '{{ response.next }}'")
                paginator[key] = compiled
    for key in ("total_path", "has_more_path", "cursor_path", "next_url_path"):
        if paginator.get(key):
            try:
                JSONPath(paginator[key])
            except ValueError as exc:
                problem(config_path(where, key), str(exc))
    return paginator
