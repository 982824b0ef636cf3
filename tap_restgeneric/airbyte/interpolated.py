"""The CDK's interpolated values (``InterpolatedString``, ``InterpolatedBoolean``,
``InterpolatedMapping``, ``InterpolatedNestedMapping``) over :mod:`.interpolation`'s templates."""

from __future__ import annotations

import dataclasses
import typing as t
import uuid

from tap_restgeneric.airbyte.interpolation import FALSE_VALUES, SLICE_ALIASES, AirbyteEnvironment, AirbyteTemplate, evaluate
from tap_restgeneric.errors import config_path

if t.TYPE_CHECKING:
    from tap_restgeneric.airbyte.macros import Clock


class Interpolation:
    """Compiles a manifest's strings into the CDK's interpolated values, all reading one clock."""

    def __init__(self, clock: Clock, new_uuid: t.Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.environment = AirbyteEnvironment(clock, new_uuid)

    def compile(self, source: str, where: str, names: t.Collection[str] = ()) -> AirbyteTemplate:
        return AirbyteTemplate(self.environment, source, where, names)

    def string(
        self,
        source: str,
        where: str,
        names: t.Collection[str] = (),
        parameters: t.Mapping[str, t.Any] | None = None,
        default: str | None = None,
    ) -> InterpolatedString:
        return InterpolatedString(self, source, where, names, parameters, default)

    def boolean(
        self, condition: str | bool, where: str, names: t.Collection[str] = (), parameters: t.Mapping[str, t.Any] | None = None
    ) -> InterpolatedBoolean:
        return InterpolatedBoolean(self, condition, where, names, parameters)

    def mapping(
        self,
        mapping: t.Mapping[str, t.Any],
        where: str,
        names: t.Collection[str] = (),
        parameters: t.Mapping[str, t.Any] | None = None,
    ) -> InterpolatedMapping:
        return InterpolatedMapping(self, mapping, where, names, parameters)

    def nested(
        self, value: t.Any, where: str, names: t.Collection[str] = (), parameters: t.Mapping[str, t.Any] | None = None
    ) -> InterpolatedNested:
        return InterpolatedNested(self, value, where, names, parameters)


def _context(
    config: t.Mapping[str, t.Any], parameters: t.Mapping[str, t.Any], names: t.Collection[str], values: t.Mapping[str, t.Any]
) -> dict[str, t.Any]:
    """What a template sees: every name of its place (None when not given), config and parameters."""
    context: dict[str, t.Any] = dict.fromkeys(names)
    context.update(values)
    context["config"] = config
    context["parameters"] = parameters
    if "stream_slice" in context:
        for alias in SLICE_ALIASES:
            context[alias] = context["stream_slice"]
    return context


class InterpolatedString:
    """A string field: its default, when none is given, is its own text."""

    def __init__(
        self,
        interpolation: Interpolation,
        source: str,
        where: str,
        names: t.Collection[str],
        parameters: t.Mapping[str, t.Any] | None,
        default: str | None,
    ) -> None:
        self.names = frozenset(names)
        self.parameters = dict(parameters or {})
        self.template = interpolation.compile(source, where, self.names)
        self.default = interpolation.compile(default, f"{where} (default)", self.names) if default else self.template

    def eval(self, config: t.Mapping[str, t.Any], valid_types: tuple[type, ...] | None = None, **values: t.Any) -> t.Any:
        return evaluate(self.template, _context(config, self.parameters, self.names, values), self.default, valid_types)


class InterpolatedBoolean:
    """A condition (``stop_condition``, ``condition``): false when it reads as one of :data:`FALSE_VALUES`."""

    def __init__(
        self,
        interpolation: Interpolation,
        condition: str | bool,
        where: str,
        names: t.Collection[str],
        parameters: t.Mapping[str, t.Any] | None,
    ) -> None:
        self.names = frozenset(names)
        self.parameters = dict(parameters or {})
        self.constant = condition if isinstance(condition, bool) else None
        self.template = None if isinstance(condition, bool) else interpolation.compile(condition, where, self.names)
        self.default = interpolation.compile("False", f"{where} (default)")

    def eval(self, config: t.Mapping[str, t.Any], **values: t.Any) -> bool:
        if self.template is None:
            return bool(self.constant)
        value = evaluate(self.template, _context(config, self.parameters, self.names, values), self.default)
        return value not in FALSE_VALUES


class InterpolatedMapping:
    """A flat mapping (``request_parameters``, ``request_headers``): keys and text values rendered;
    a key must read as text (``{{ 1 }}`` stays ``"1"``), an empty value is None."""

    def __init__(
        self,
        interpolation: Interpolation,
        mapping: t.Mapping[str, t.Any],
        where: str,
        names: t.Collection[str],
        parameters: t.Mapping[str, t.Any] | None,
    ) -> None:
        self.names = frozenset(names)
        self.parameters = dict(parameters or {})
        self.items = [
            (
                interpolation.compile(str(key), f"{config_path(where, key)} (key)", self.names),
                interpolation.compile(value, config_path(where, key), self.names) if isinstance(value, str) else value,
            )
            for key, value in mapping.items()
        ]

    def eval(
        self,
        config: t.Mapping[str, t.Any],
        valid_key_types: tuple[type, ...] = (str,),
        valid_value_types: tuple[type, ...] | None = None,
        **values: t.Any,
    ) -> dict[t.Any, t.Any]:
        context = _context(config, self.parameters, self.names, values)
        return {
            evaluate(key, context, None, valid_key_types): (
                evaluate(value, context, None, valid_value_types) if isinstance(value, AirbyteTemplate) else value
            )
            for key, value in self.items
        }


@dataclasses.dataclass(frozen=True)
class _Object:
    pairs: tuple[tuple[t.Any, t.Any], ...]


@dataclasses.dataclass(frozen=True)
class _Array:
    items: tuple[t.Any, ...]


class InterpolatedNested:
    """A nested value (``request_body_json``): strings rendered at any depth, keys too; a None value
    in an object is dropped (not in a list)."""

    def __init__(
        self,
        interpolation: Interpolation,
        value: t.Any,
        where: str,
        names: t.Collection[str],
        parameters: t.Mapping[str, t.Any] | None,
    ) -> None:
        self.names = frozenset(names)
        self.parameters = dict(parameters or {})
        self.tree = self._compile(interpolation, value, where)

    def _compile(self, interpolation: Interpolation, value: t.Any, where: str) -> t.Any:
        if isinstance(value, str):
            return interpolation.compile(value, where, self.names)
        if isinstance(value, dict):
            return _Object(
                tuple(
                    (
                        self._compile(interpolation, str(k), f"{config_path(where, k)} (key)"),
                        self._compile(interpolation, v, config_path(where, k)),
                    )
                    for k, v in value.items()
                )
            )
        if isinstance(value, list):
            return _Array(tuple(self._compile(interpolation, v, f"{where}[{i}]") for i, v in enumerate(value)))
        return value

    def eval(self, config: t.Mapping[str, t.Any], **values: t.Any) -> t.Any:
        return self._eval(self.tree, _context(config, self.parameters, self.names, values))

    def _eval(self, node: t.Any, context: t.Mapping[str, t.Any]) -> t.Any:
        if isinstance(node, AirbyteTemplate):
            return evaluate(node, context)
        if isinstance(node, _Object):
            rendered = {self._eval(k, context): self._eval(v, context) for k, v in node.pairs}
            return {k: v for k, v in rendered.items() if v is not None}
        if isinstance(node, _Array):
            return [self._eval(v, context) for v in node.items]
        return node
