"""Jinja templates in config strings, evaluated in Jinja's immutable sandbox.

A string containing ``{{ ... }}`` is a template. A string that is exactly one
expression (``'{{ not response.get("next") }}'``) evaluates to the native value
(bool, dict, str...), so stop conditions and cursors keep their types; any
other template renders to a string. Undeclared names are found at load time,
before any request is sent.

Context names, by where the template appears:

- everywhere: ``secrets`` (the ``secrets`` setting), ``config`` (all settings)
- request parts (``params``, ``headers``, ``json``, ``path``): also ``incremental``
  (``incremental.start_value``, ``incremental.end_value``)
- paginator templates: also ``response`` (the parsed JSON body), ``headers``
  (response headers), ``last_record`` (last record of the page)
"""

from __future__ import annotations

import re
import typing as t

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)

STATIC_NAMES = frozenset({"secrets", "config"})
REQUEST_NAMES = STATIC_NAMES | {"incremental"}
PAGINATOR_NAMES = STATIC_NAMES | {"response", "headers", "last_record"}


def is_template(value: t.Any) -> bool:
    return isinstance(value, str) and "{{" in value


class Template:
    """A compiled config template; call it with a context dict."""

    def __init__(self, source: str, where: str, allowed: t.AbstractSet[str]) -> None:
        self.source = source
        self.where = where
        try:
            ast = _ENV.parse(source)
        except TemplateSyntaxError as exc:
            raise ValueError(f"{where}: template syntax error: {exc.message}") from None
        unknown = sorted(meta.find_undeclared_variables(ast) - set(allowed))
        if unknown:
            raise ValueError(
                f"{where}: template uses undeclared name {', '.join(map(repr, unknown))}"
                f" (available here: {', '.join(sorted(allowed))})"
            )
        self.secret_names = sorted(_referenced_keys(ast, "secrets"))
        single = _SINGLE_EXPRESSION.match(source)
        if single and "{{" not in single.group(1) and "{%" not in source:
            self._expression = _ENV.compile_expression(single.group(1).strip())
            self._template = None
        else:
            self._expression = None
            self._template = _ENV.from_string(source)

    def __call__(self, context: t.Mapping[str, t.Any]) -> t.Any:
        if self._expression is not None:
            return self._expression(**context)
        return self._template.render(**context)  # type: ignore[union-attr]


def _referenced_keys(ast: nodes.Template, name: str) -> set[str]:
    """Keys read off a top-level name: ``secrets.x`` and ``secrets["x"]``."""
    keys = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node.node, nodes.Name) and node.node.name == name:
            if isinstance(node, nodes.Getattr):
                keys.add(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                keys.add(node.arg.value)
    return keys


def compile_tree(value: t.Any, where: str, allowed: t.AbstractSet[str]) -> t.Any:
    """Compile every template string inside a JSON-like value (returns a new tree)."""
    if isinstance(value, dict):
        return {k: compile_tree(v, f"{where}.{k}", allowed) for k, v in value.items()}
    if isinstance(value, list):
        return [compile_tree(v, f"{where}[{i}]", allowed) for i, v in enumerate(value)]
    if is_template(value):
        return Template(value, where, allowed)
    return value


def render_tree(value: t.Any, context: t.Mapping[str, t.Any]) -> t.Any:
    """Evaluate a tree produced by :func:`compile_tree`."""
    if isinstance(value, Template):
        return value(context)
    if isinstance(value, dict):
        return {k: render_tree(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render_tree(v, context) for v in value]
    return value


def has_templates(value: t.Any) -> bool:
    return next(templates_in(value), None) is not None


def templates_in(value: t.Any) -> t.Iterator[Template]:
    if isinstance(value, Template):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from templates_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from templates_in(v)
