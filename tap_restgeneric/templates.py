"""Jinja templates in config strings, evaluated in Jinja's immutable sandbox, with bounded work.

A string containing ``{{ ... }}`` is a template. A string that is exactly one
expression (``'{{ not response.get("next") }}'``) evaluates to the native value
(bool, dict, str...), so stop conditions and cursors keep their types; any
other template renders to a string. Undeclared names are found at load time,
before any request is sent.

Context names, by where the template appears:

- everywhere: ``secrets`` (the ``secrets`` setting), ``config`` (the other settings)
- request parts (``params``, ``headers``, ``json``, ``path``): also ``incremental``
  (``incremental.start_value``, ``incremental.end_value``)
- paginator templates: also ``response`` (the parsed JSON body), ``headers``
  (response headers), ``last_record`` (last record of the page), ``last_page_size`` (its record count)

Templates run in a bounded sandbox (``template_sandbox``: every operation, conversion to
text and evaluation bounded in size, work and time; ``template_overseer``: the time inside a
filter's own loop). Loops and macros (``{% for %}``, ``{% macro %}``) are refused at load
time, and so is nesting deeper than Jinja's parser can take: without them, a template's work
is its length times the bounded cost of each step.
"""

from __future__ import annotations

import contextlib
import re
import typing as t

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from typing_extensions import override

from tap_restgeneric.errors import TemplateEvaluationError, config_path
from tap_restgeneric.template_names import name_paths, referenced_keys
from tap_restgeneric.template_overseer import OVERSEER, TemplateTimeout
from tap_restgeneric.template_sandbox import (
    ACTIVE,
    CONTAINERS,
    MAX_OUTPUT,
    TIME_BUDGET,
    BoundedEnvironment,
    Budget,
    TemplateLimitError,
    text_size,
)

#: Statements a config template may use; loops and macros are the only ways to repeat work.
REFUSED_STATEMENTS = {
    nodes.For: "{% for %} loops",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.FilterBlock: "{% filter %} blocks",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "{% block %}",
}

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.DOTALL)
#: Brackets a template may nest (beyond the ``{{ }}`` around it): Jinja's parser recurses a dozen
#: frames per level, and ran out of recursion at about 80.
MAX_NESTING = 32
_BRACKETS = re.compile(r"[()\[\]{}]")
_DEPTH_CHANGE = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


#: Depth of a template's syntax tree (filters, attributes and operators each add a level).
MAX_TREE_DEPTH = 80


def _tree_depth(ast: nodes.Node) -> int:
    """How deep a parsed template's syntax tree goes, walked without recursion."""
    deepest = 0
    stack = [(ast, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_TREE_DEPTH:
            stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest


def _bracket_depth(source: str) -> int:
    """The deepest nesting of brackets in a template's text (string literals counted too: an
    over-estimate only for templates with many brackets inside their strings)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(source):
        depth = max(depth + _DEPTH_CHANGE[bracket], 0)
        deepest = max(deepest, depth)
    return deepest - 2 if "{{" in source or "{%" in source else deepest  # the {{ }} or {% %} delimiters


STATIC_NAMES = frozenset({"secrets", "config"})
REQUEST_NAMES = STATIC_NAMES | {"incremental", "resources", "partition"}
PAGINATOR_NAMES = STATIC_NAMES | {"response", "headers", "last_record", "last_page_size"}


#: What a foreign template (:meth:`Template.foreign`) returns for a ``map`` step to leave the field as it is
#: (an Airbyte RemoveFields below a field the record does not have).
UNCHANGED = object()
#: ... and to remove the field (an Airbyte RemoveFields whose condition holds).
REMOVED = object()

_ENV = BoundedEnvironment(undefined=StrictUndefined, autoescape=False)


def is_template(value: t.Any) -> bool:
    return isinstance(value, str) and "{{" in value


class Template:
    """A compiled config template; call it with a context dict.

    ``where`` is its config path, named by every error it raises."""

    def __init__(self, source: str, where: str, allowed: t.AbstractSet[str]) -> None:
        self.source = source
        self.where = where
        too_deep = (
            f"{where}: template nested too deeply (more than {MAX_NESTING} levels of brackets, or a syntax tree "
            f"more than {MAX_TREE_DEPTH} deep: a chain of filters, attributes or operators)"
        )
        if _bracket_depth(source) > MAX_NESTING:
            raise ValueError(too_deep)
        try:
            ast = _ENV.parse(source)
        except TemplateSyntaxError as exc:
            raise ValueError(f"{where}: template syntax error: {exc.message}") from None
        except RecursionError:  # Jinja's parser recurses per level: a chain of unary operators
            raise ValueError(too_deep) from None
        if _tree_depth(ast) > MAX_TREE_DEPTH:  # its analysis and code generator recurse per node (filter chains)
            raise ValueError(too_deep)
        for node_type, label in REFUSED_STATEMENTS.items():
            if next(ast.find_all(node_type), None) is not None:
                raise ValueError(f"{where}: {label} are not allowed in config templates (expressions and {{% if %}} are)")
        unknown = sorted(meta.find_undeclared_variables(ast) - set(allowed))
        if unknown:
            escaped = next((n for n in unknown if re.search(r"\{\{\s*" + n + r"\s*\}\}", source)), None)
            hint = (
                f"; in dlt {{{{{escaped}}}}} is the literal text {{{escaped}}}, here {{{{ … }}}} is Jinja: write a literal "
                f"brace as {{{{ '{{' }}}}, e.g. {{{{ '{{{escaped}}}' }}}}"
                if escaped
                else ""
            )
            raise ValueError(
                f"{where}: template uses undeclared name {', '.join(map(repr, unknown))}"
                f" (available here: {', '.join(sorted(allowed))}){hint}"
            )
        self.secret_names = sorted(referenced_keys(ast, "secrets"))
        #: the partition values read (``partition.account``; "*": the whole mapping)
        self.partition_names = sorted(referenced_keys(ast, "partition"))
        #: parent fields read, as key chains (``resources.issues.number`` -> ("issues", "number"))
        self.resource_paths = name_paths(ast, "resources")
        single = _SINGLE_EXPRESSION.match(source)
        try:
            if single and "{{" not in single.group(1) and "{%" not in source:
                self._expression: t.Any = _ENV.compile_expression(single.group(1).strip())
                self._template: t.Any = None
            else:
                self._expression = None
                self._template = _ENV.from_string(source)
        except TemplateSyntaxError as exc:
            raise ValueError(f"{where}: template syntax error: {exc.message}") from None

    @classmethod
    def foreign(
        cls,
        source: str,
        where: str,
        evaluate: t.Callable[..., t.Any],
        resource_paths: list[tuple[str, ...] | None] | None = None,
        partition_names: list[str] | None = None,
    ) -> Template:
        """A template another front-end compiled with its own rules (an Airbyte manifest's), run by
        ``evaluate(**context)`` under the same bounds; it reads no secrets, and the parent fields
        ``resource_paths`` names (``resources.<parent>.<field>`` chains) and the partitions ``partition_names`` names."""
        template = cls.__new__(cls)
        template.source, template.where = source, where
        template.secret_names = []
        template.resource_paths = list(resource_paths or [])
        template.partition_names = sorted(partition_names or [])
        template._expression, template._template = evaluate, None  # noqa: SLF001 - the class's own instance
        return template

    @override
    def __str__(self) -> str:
        return self.source

    @property
    def uses_secrets(self) -> bool:
        return bool(self.secret_names)

    def __call__(self, context: t.Mapping[str, t.Any]) -> t.Any:
        outer = getattr(ACTIVE, "budget", None)
        ACTIVE.budget = budget = Budget()
        evaluation = OVERSEER.start() if outer is None else None
        try:
            try:
                result = self._expression(**context) if self._expression is not None else self._template.render(**context)
                budget.step(result)
                if isinstance(result, CONTAINERS) and text_size(result, MAX_OUTPUT) > MAX_OUTPUT:
                    raise TemplateLimitError(f"its value would be more than {MAX_OUTPUT:,} characters as text")
            finally:
                if evaluation is not None:
                    OVERSEER.finish(evaluation)
            return result
        except TemplateTimeout:  # raised by the overseer, perhaps as the finally above began
            if evaluation is not None:
                OVERSEER.finish(evaluation)
            raise TemplateEvaluationError(f"{self.where}: template refused: ran longer than {TIME_BUDGET:g} s") from None
        except TemplateLimitError as exc:
            raise TemplateEvaluationError(f"{self.where}: template refused: {exc}") from None
        except TemplateEvaluationError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure inside a template is reported with its path
            raise TemplateEvaluationError(f"{self.where}: template error: {type(exc).__name__}: {exc}") from None
        finally:
            ACTIVE.budget = outer


def compile_tree(value: t.Any, where: str, allowed: t.AbstractSet[str]) -> t.Any:
    """Compile every template string inside a JSON-like value (returns a new tree)."""
    if isinstance(value, dict):
        return {k: compile_tree(v, config_path(where, k), allowed) for k, v in value.items()}
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


def template_config(settings: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What ``config`` names in a template: the settings except ``secrets``, so that a
    secret is only ever read as ``secrets.NAME`` (and so known to be a credential)."""
    return {key: value for key, value in settings.items() if key != "secrets"}


def has_templates(value: t.Any) -> bool:
    return next(templates_in(value), None) is not None


def uses_secrets(value: t.Any) -> bool:
    """Whether any template in the tree reads ``secrets``."""
    return any(template.uses_secrets for template in templates_in(value))


def templates_in(value: t.Any) -> t.Iterator[Template]:
    if isinstance(value, Template):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from templates_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from templates_in(v)


# A hook for a second front-end with its own environment and rendering rules (the Airbyte
# manifests' interpolation, tap_restgeneric.airbyte): the same bounds, without its internals
# (its filters and steps: template_sandbox's bounded_callable and charge).


@contextlib.contextmanager
def evaluation_budget() -> t.Iterator[None]:
    """One evaluation's work and time budget, as :class:`Template` runs each call in, the overseer
    included (the time inside a filter's own loop); a template that exceeds it raises
    :class:`TemplateLimitError`."""
    outer = getattr(ACTIVE, "budget", None)
    ACTIVE.budget = Budget()
    evaluation = OVERSEER.start() if outer is None else None
    try:
        try:
            yield
        finally:
            if evaluation is not None:
                OVERSEER.finish(evaluation)
    except TemplateTimeout:  # raised by the overseer, perhaps as the finally above began
        if evaluation is not None:
            OVERSEER.finish(evaluation)
        raise TemplateLimitError(f"ran longer than {TIME_BUDGET:g} s") from None
    finally:
        ACTIVE.budget = outer
