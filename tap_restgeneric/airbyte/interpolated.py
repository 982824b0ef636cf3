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

Mapping = t.Mapping[str, t.Any]


@dataclasses.dataclass(frozen=True)
class Place:
    """Where a component's strings are evaluated: the names the CDK offers there (absent ones are
    None) and the component's ``$parameters``."""

    environment: AirbyteEnvironment
    names: frozenset[str] = frozenset()
    parameters: Mapping = dataclasses.field(default_factory=dict)

    def compile(self, source: str, where: str) -> AirbyteTemplate:
        return AirbyteTemplate(self.environment, source, where, self.names)

    def context(self, config: Mapping, values: Mapping) -> dict[str, t.Any]:
        """What a template sees: every name of the place, config, parameters, the slice's aliases."""
        context: dict[str, t.Any] = dict.fromkeys(self.names)
        context.update(values)
        context["config"] = config
        context["parameters"] = self.parameters
        if "stream_slice" in context:
            for alias in SLICE_ALIASES:
                context[alias] = context["stream_slice"]
        return context


class Interpolation:
    """Compiles a manifest's strings into the CDK's interpolated values, all reading one clock."""

    def __init__(self, clock: Clock, new_uuid: t.Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.environment = AirbyteEnvironment(clock, new_uuid)

    def place(self, names: t.Collection[str] = (), parameters: Mapping | None = None) -> Place:
        return Place(self.environment, frozenset(names), dict(parameters or {}))

    def compile(self, source: str, where: str, names: t.Collection[str] = ()) -> AirbyteTemplate:
        return self.place(names).compile(source, where)

    def string(
        self,
        source: str,
        where: str,
        names: t.Collection[str] = (),
        parameters: Mapping | None = None,
        default: str | None = None,
    ) -> InterpolatedString:
        return InterpolatedString(self.place(names, parameters), source, where, default)

    def boolean(
        self, condition: str | bool, where: str, names: t.Collection[str] = (), parameters: Mapping | None = None
    ) -> InterpolatedBoolean:
        return InterpolatedBoolean(self.place(names, parameters), condition, where)

    def mapping(
        self, mapping: Mapping, where: str, names: t.Collection[str] = (), parameters: Mapping | None = None
    ) -> InterpolatedMapping:
        return InterpolatedMapping(self.place(names, parameters), mapping, where)

    def nested(
        self, value: t.Any, where: str, names: t.Collection[str] = (), parameters: Mapping | None = None
    ) -> InterpolatedNested:
        return InterpolatedNested(self.place(names, parameters), value, where)


class InterpolatedString:
    """A string field: its default, when none is given, is its own text."""

    def __init__(self, place: Place, source: str, where: str, default: str | None = None) -> None:
        self.place = place
        self.template = place.compile(source, where)
        self.default = place.compile(default, f"{where} (default)") if default else self.template

    def eval(self, config: Mapping, valid_types: tuple[type, ...] | None = None, **values: t.Any) -> t.Any:
        return evaluate(self.template, self.place.context(config, values), self.default, valid_types)


class InterpolatedBoolean:
    """A condition (``stop_condition``, ``condition``): false when it reads as one of :data:`FALSE_VALUES`."""

    def __init__(self, place: Place, condition: str | bool, where: str) -> None:
        self.place = place
        self.constant = condition if isinstance(condition, bool) else None
        self.template = None if isinstance(condition, bool) else place.compile(condition, where)
        self.default = place.compile("False", f"{where} (default)")

    def eval(self, config: Mapping, **values: t.Any) -> bool:
        if self.template is None:
            return bool(self.constant)
        return evaluate(self.template, self.place.context(config, values), self.default) not in FALSE_VALUES


class InterpolatedMapping:
    """A flat mapping (``request_parameters``, ``request_headers``): keys and text values rendered;
    a key must read as text (``{{ 1 }}`` stays ``"1"``), an empty value is None."""

    def __init__(self, place: Place, mapping: Mapping, where: str) -> None:
        self.place = place
        self.items = [
            (
                place.compile(str(key), f"{config_path(where, key)} (key)"),
                place.compile(value, config_path(where, key)) if isinstance(value, str) else value,
            )
            for key, value in mapping.items()
        ]

    def eval(
        self,
        config: Mapping,
        valid_key_types: tuple[type, ...] = (str,),
        valid_value_types: tuple[type, ...] | None = None,
        **values: t.Any,
    ) -> dict[t.Any, t.Any]:
        context = self.place.context(config, values)
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

    def __init__(self, place: Place, value: t.Any, where: str) -> None:
        self.place = place
        self.tree = self._compile(value, where)

    def _compile(self, value: t.Any, where: str) -> t.Any:
        if isinstance(value, str):
            return self.place.compile(value, where)
        if isinstance(value, dict):
            return _Object(
                tuple(
                    (self._compile(str(k), f"{config_path(where, k)} (key)"), self._compile(v, config_path(where, k)))
                    for k, v in value.items()
                )
            )
        if isinstance(value, list):
            return _Array(tuple(self._compile(v, f"{where}[{i}]") for i, v in enumerate(value)))
        return value

    def eval(self, config: Mapping, **values: t.Any) -> t.Any:
        return self._eval(self.tree, self.place.context(config, values))

    def _eval(self, node: t.Any, context: Mapping) -> t.Any:
        if isinstance(node, AirbyteTemplate):
            return evaluate(node, context)
        if isinstance(node, _Object):
            rendered = {self._eval(k, context): self._eval(v, context) for k, v in node.pairs}
            return {k: v for k, v in rendered.items() if v is not None}
        if isinstance(node, _Array):
            return [self._eval(v, context) for v in node.items]
        return node
