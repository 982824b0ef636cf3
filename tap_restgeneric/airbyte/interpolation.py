"""Airbyte's interpolation (``{{ ... }}`` in a manifest) as airbyte-cdk 7.39.1 evaluates it, in the
tap's bounded Jinja sandbox (:class:`tap_restgeneric.template_sandbox.BoundedEnvironment`).

The CDK's rules, kept:

- every string is rendered to text, then read with ``ast.literal_eval`` when it reads as a Python
  literal: ``"1"`` gives 1, ``"[1, 2]"`` a list, ``"None"`` None, ``"0123"`` stays text;
  ``{{ now_utc() }}`` renders as Python's ``str(datetime)``;
- an undefined attribute renders empty; an empty result, or an error of an undefined value, gives
  the default (an ``InterpolatedString``'s default is its own text, so its error is raised);
- the names: ``config``, ``parameters`` (the component's ``$parameters``), and the ones of the place
  (``stream_slice`` with its aliases ``stream_interval`` and ``stream_partition``, ``next_page_token``,
  ``response``, ``headers``, ``record``, ``last_record``, ``last_page_size``...); absent ones are None;
- the CDK's macros and filters (:mod:`.macros`), ``range`` removed; loops, ``{% set %}`` and
  ``list.append`` allowed (a few manifests build lists so).

Where the CDK fails late or not at all, the tap fails at once in one line naming the manifest path:
a name the place does not offer, ``stream_state`` anywhere in the text, and a syntax error fail when
the template is compiled (the CDK fails when it first evaluates it); a ``TypeError`` fails (the CDK
sends the template's own text, and a stop condition then reads as true). "Now" is the injected
clock, and nothing depends on the machine's time zone: ``strftime``, ``timestamp``, ``astimezone``,
``now``, ``today`` and ``fromtimestamp`` called on dates in a template read the clock and UTC.
"""

from __future__ import annotations

import ast
import collections.abc
import datetime
import typing as t

from jinja2 import TemplateSyntaxError, Undefined, UndefinedError, meta, nodes
from typing_extensions import override

from tap_restgeneric.airbyte.macros import FILTERS, Clock, macros, utc_now
from tap_restgeneric.datetimes import UTC, strftime
from tap_restgeneric.errors import SourceConfigError, TemplateEvaluationError
from tap_restgeneric.template_sandbox import (
    MAX_STRING_LENGTH,
    BoundedEnvironment,
    TemplateLimitError,
    bounded_callable,
    charge,
)
from tap_restgeneric.templates import REFUSED_STATEMENTS, evaluation_budget

#: The aliases the CDK gives ``stream_slice`` in every template.
SLICE_ALIASES = ("stream_interval", "stream_partition")
#: Names offered by the CDK's call sites, for the main places (the wiring checks each of its own).
REQUEST_NAMES = frozenset({"stream_slice", "next_page_token"})
PAGINATION_NAMES = frozenset({"response", "headers", "last_record", "last_page_size", "page_size", "stream_slice"})
RECORD_NAMES = frozenset({"record", "stream_slice", "next_page_token"})
#: What an ``InterpolatedBoolean`` reads as false.
FALSE_VALUES: list[t.Any] = ["False", "false", "{}", "[]", "()", "", "0", "0.0", {}, False, None, [], (), set()]
_LOOP_GUARD = "__loop_items"


class StreamSlice(collections.abc.Mapping[str, t.Any]):
    """What ``stream_slice`` (``stream_partition``, ``stream_interval``) is in a template: the
    partition's and the window's keys together, with ``partition``, ``cursor_slice`` and
    ``extra_fields`` (the parent's fields) as attributes; it renders as a dict."""

    def __init__(
        self,
        partition: t.Mapping[str, t.Any] | None = None,
        cursor_slice: t.Mapping[str, t.Any] | None = None,
        extra_fields: t.Mapping[str, t.Any] | None = None,
    ) -> None:
        self.partition = dict(partition or {})
        self.cursor_slice = dict(cursor_slice or {})
        self.extra_fields = dict(extra_fields or {})
        if self.partition.keys() & self.cursor_slice.keys():
            raise ValueError("a partition and a window cannot share keys")
        self._partition = self.partition  # read by some manifests (source-jira), as the CDK allows
        self._values = {**self.partition, **self.cursor_slice}

    @override
    def __getitem__(self, key: str) -> t.Any:
        return self._values[key]

    @override
    def __iter__(self) -> t.Iterator[str]:
        return iter(self._values)

    @override
    def __len__(self) -> int:
        return len(self._values)

    @override
    def __repr__(self) -> str:
        return repr(self._values)


def _loop_items(iterable: t.Iterable[t.Any]) -> t.Iterator[t.Any]:
    """Each loop iteration is a step of the evaluation's budget (a loop over a loop cannot hang)."""
    for item in iterable:
        charge()
        yield item


class AirbyteEnvironment(BoundedEnvironment):
    """The tap's bounded sandbox with the CDK's macros, filters and undefined values."""

    def __init__(self, clock: Clock, new_uuid: t.Callable[[], str]) -> None:
        super().__init__(undefined=Undefined, autoescape=False)
        self.clock = clock
        self.globals.pop("range", None)  # the CDK removes it
        self.globals.update(macros(clock, new_uuid))
        self.globals[_LOOP_GUARD] = _loop_items
        self.filters.update({name: bounded_callable(name, func) for name, func in FILTERS.items()})

    @override
    def is_safe_attribute(self, obj: t.Any, attr: str, value: t.Any) -> bool:
        if (isinstance(obj, list) and attr == "append") or (isinstance(obj, StreamSlice) and attr == "_partition"):
            return True
        return super().is_safe_attribute(obj, attr, value)

    @override
    def call(self, context: t.Any, obj: t.Any, /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        owner = getattr(obj, "__self__", None)
        name = getattr(obj, "__name__", "")
        if name == "append" and isinstance(owner, list) and len(owner) >= MAX_STRING_LENGTH:
            raise TemplateLimitError(f"a list grew past {MAX_STRING_LENGTH:,} items")
        return super().call(context, self._without_machine_time(owner, name) or obj, *args, **kwargs)

    def _without_machine_time(self, owner: t.Any, name: str) -> t.Callable[..., t.Any] | None:
        """A date's method that would read the machine's clock or zone, answered from the clock and UTC."""
        kind = owner if isinstance(owner, type) else type(owner)
        if not (isinstance(kind, type) and issubclass(kind, datetime.date)):
            return None
        moment = None if isinstance(owner, type) else owner
        now = utc_now(self.clock)
        as_datetime = issubclass(kind, datetime.datetime)
        methods: dict[str, t.Callable[..., t.Any]] = {
            "today": (lambda: now.replace(tzinfo=None)) if as_datetime else now.date,
            "fromtimestamp": (lambda stamp, tz=None: datetime.datetime.fromtimestamp(stamp, tz or UTC).replace(tzinfo=tz))
            if as_datetime
            else (lambda stamp: datetime.datetime.fromtimestamp(stamp, UTC).date()),
        }
        if as_datetime:
            methods["now"] = lambda tz=None: now.astimezone(tz) if tz else now.replace(tzinfo=None)
            methods["utcnow"] = lambda: now.replace(tzinfo=None)
        if isinstance(moment, datetime.date):
            methods["strftime"] = lambda fmt: strftime(moment, fmt)
        if isinstance(moment, datetime.datetime):
            aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
            methods["timestamp"] = aware.timestamp
            methods["astimezone"] = lambda tz=None: aware.astimezone(tz or UTC)
        return methods.get(name)


class _UndefinedValue(TemplateEvaluationError):
    """An undefined value was used (not merely rendered): the CDK then takes the default."""


class AirbyteTemplate:
    """One manifest string, compiled; ``where`` is its manifest path, named by every error."""

    def __init__(self, environment: AirbyteEnvironment, source: str, where: str, names: t.Collection[str] = ()) -> None:
        self.source = source
        self.where = where
        if "stream_state" in source:
            raise SourceConfigError(
                [f"{where}: `stream_state` is not available in templates (Airbyte's CDK refuses it too): use stream_interval"]
            )
        try:
            tree = environment.parse(source)
        except TemplateSyntaxError as exc:
            raise SourceConfigError([f"{where}: template syntax error: {exc.message}"]) from None
        for node_type, label in REFUSED_STATEMENTS.items():
            if node_type is not nodes.For and next(tree.find_all(node_type), None) is not None:
                raise SourceConfigError([f"{where}: {label} are not allowed in templates"])
        allowed = {"config", "parameters", *names, *(SLICE_ALIASES if "stream_slice" in names else ())}
        unknown = sorted(meta.find_undeclared_variables(tree) - allowed)
        if unknown:
            listed, available = ", ".join(map(repr, unknown)), ", ".join(sorted(allowed))
            raise SourceConfigError([f"{where}: template uses undefined name {listed} (available here: {available})"])
        self.names = frozenset(names)
        for loop in tree.find_all(nodes.For):
            if loop.recursive:
                raise SourceConfigError([f"{where}: recursive loops are not allowed in templates"])
            guard = nodes.Call(nodes.Name(_LOOP_GUARD, "load"), [loop.iter], [], None, None)
            loop.iter = guard.set_lineno(loop.lineno).set_environment(environment)
        self._template = environment.from_string(tree)

    def render(self, context: t.Mapping[str, t.Any]) -> str:
        """The template's text; a use of an undefined value raises :class:`_UndefinedValue`."""
        try:
            with evaluation_budget():
                text = self._template.render(context)
                charge(text)
                return text
        except TemplateLimitError as exc:
            raise TemplateEvaluationError(f"{self.where}: template refused: {exc}") from None
        except UndefinedError as exc:
            raise _UndefinedValue(f"{self.where}: template error: {exc}") from None
        except TemplateEvaluationError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure inside a template is one line with its path
            raise TemplateEvaluationError(f"{self.where}: template error: {type(exc).__name__}: {exc}") from None


def literal_value(text: str, valid_types: tuple[type, ...] | None = None) -> t.Any:
    """Rendered text as the CDK returns it: the Python literal it reads as (not a complex number;
    of ``valid_types`` when given), else the text."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if valid_types:
        return value if isinstance(value, valid_types) else text
    return text if isinstance(value, complex) else value


def evaluate(
    template: AirbyteTemplate,
    context: t.Mapping[str, t.Any],
    default: AirbyteTemplate | None = None,
    valid_types: tuple[type, ...] | None = None,
) -> t.Any:
    """The CDK's ``JinjaInterpolation.eval``: the rendered value, or the default's when it renders
    empty or uses an undefined value; no default gives None."""
    try:
        text = template.render(context)
    except _UndefinedValue:
        text = ""
    if text:
        return literal_value(text, valid_types)
    return None if default is None else literal_value(default.render(context), valid_types)
