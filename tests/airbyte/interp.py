"""Jinja rendering as the CDK's, for the mock API to predict what the CDK will send and read: the
tap's own macros and filters (tap_restgeneric.airbyte.macros) with a fixed "now", and the
`ast.literal_eval` the CDK applies to a rendered value. Only the mock uses it."""

from __future__ import annotations

import typing as t

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from tap_restgeneric.airbyte.interpolation import literal_value
from tap_restgeneric.airbyte.macros import FILTERS, macros

if t.TYPE_CHECKING:
    import datetime


def environment(now: datetime.datetime, strict: bool = False) -> SandboxedEnvironment:
    """The CDK's macros and filters (the tap's, with "now" fixed and a fixed uuid). Strict: an undefined
    name raises (to tell a path's partition placeholders from its config ones); lenient: it renders
    empty, as in the CDK."""
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined if strict else jinja2.Undefined)
    env.globals.update(macros(lambda: now, new_uuid=lambda: "00000000-0000-4000-8000-000000000000"))
    env.filters.update(FILTERS)
    return env


def render(env: SandboxedEnvironment, template: str, context: dict[str, t.Any]) -> str:
    """The template's text (raises jinja2 errors, StrictUndefined included)."""
    return env.from_string(template).render(context)


def evaluate(env: SandboxedEnvironment, template: t.Any, context: dict[str, t.Any]) -> t.Any:
    """A rendered value as the CDK takes it: `ast.literal_eval` of the text when that succeeds (the tap's
    `literal_value`, one implementation of the rule)."""
    if not isinstance(template, str):
        return template
    return literal_value(render(env, template, context))


def truthy(env: SandboxedEnvironment, template: t.Any, context: dict[str, t.Any]) -> bool:
    """An InterpolatedBoolean-like reading: the evaluated value's truth; an unrenderable one is false."""
    try:
        value = evaluate(env, template, context)
    except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError, IndexError):
        return False
    if isinstance(value, str):
        return value.strip().lower() not in {"", "false", "none", "0"}
    return bool(value)
