"""What a read manifest uses, and what of it the tap refuses: every component with its path, every
interpolation macro and filter, and one line per component the tap cannot run."""

from __future__ import annotations

import dataclasses
import typing as t

from jinja2 import Environment, TemplateSyntaxError, nodes
from typing_extensions import override

from tap_restgeneric.airbyte.manifest import INERT_FIELDS, is_component, iter_components
from tap_restgeneric.airbyte.vocabulary import MACROS
from tap_restgeneric.errors import config_path

#: Components that are never run, whatever the caller supports: their work is Python code shipped
#: beside the manifest (``components.py``), or an asynchronous job API.
NEVER_SUPPORTED = frozenset({"AsyncRetriever"})
_PARSER = Environment(autoescape=False)  # parsing only: nothing is rendered with it  # noqa: S701


@dataclasses.dataclass(frozen=True)
class ComponentUse:
    """A component at its place in the manifest; ``code`` is the ``class_name`` of custom code."""

    type: str
    path: str
    code: str | None = None

    @property
    def custom(self) -> bool:
        return self.code is not None or self.type.startswith("Custom")

    @override
    def __str__(self) -> str:
        name = f"{self.type} ({self.code})" if self.code else self.type
        return f"{name} at {self.path}"


@dataclasses.dataclass(frozen=True)
class CallUse:
    """A macro or filter called in the template at ``path``."""

    name: str
    kind: t.Literal["macro", "filter"]
    path: str


@dataclasses.dataclass
class Survey:
    components: list[ComponentUse] = dataclasses.field(default_factory=list)
    calls: list[CallUse] = dataclasses.field(default_factory=list)
    #: Templates that do not parse, one line each.
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def types(self) -> set[str]:
        return {use.type for use in self.components}

    @property
    def macros(self) -> set[str]:
        return {use.name for use in self.calls if use.kind == "macro"}


def components(tree: t.Mapping[str, t.Any]) -> list[ComponentUse]:
    """Every live component of a read manifest, in document order."""
    found = []
    for path, component in iter_components(tree):
        code = component.get("class_name")
        kind = component.get("type")
        found.append(
            ComponentUse(kind if isinstance(kind, str) else "custom component", path or "the top", str(code) if code else None)
        )
    return found


def _skipped(key: t.Any, where: str) -> bool:
    """Metadata (``$parameters``, ``$path``) and the top level's inert fields."""
    return isinstance(key, str) and (key.startswith("$") or (not where and key in INERT_FIELDS))


def _strings(tree: t.Any, where: str) -> t.Iterator[tuple[str, str]]:
    """Every string of the live tree (keys included: mapping keys are interpolated too) with its path."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            if _skipped(key, where):
                continue
            path = config_path(where, key)
            if isinstance(key, str):
                yield path, key
            yield from _strings(value, path)
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _strings(value, f"{where}[{index}]")
    elif isinstance(tree, str):
        yield where, tree


def survey(tree: t.Mapping[str, t.Any]) -> Survey:
    """Components, macro and filter calls, and unparsable templates of a read manifest."""
    result = Survey(components=components(tree))
    for path, text in _strings(tree, ""):
        if "{{" not in text and "{%" not in text:
            continue
        try:
            parsed = _PARSER.parse(text)
        except TemplateSyntaxError as exc:
            result.problems.append(f"{path}: template syntax error: {exc.message}")
            continue
        for call in parsed.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name in MACROS:
                result.calls.append(CallUse(call.node.name, "macro", path))
        result.calls.extend(CallUse(node.name, "filter", path) for node in parsed.find_all(nodes.Filter))
    return result


def unknown_types(tree: t.Any, where: str = "", in_component: bool = False) -> t.Iterator[str]:
    """Objects with a component-like ``type`` (``SomeThing``) that the dialect does not define, in a
    component's field: a typo, a component newer than the tap knows, or one in a field that nothing
    reads (the CDK ignores fields its schema does not name, so these are not refusals). Request
    bodies and other mappings of plain values are not looked into."""
    if isinstance(tree, dict):
        kind = tree.get("type")
        component = is_component(tree)
        if in_component and not component and isinstance(kind, str) and kind[:1].isupper():
            yield f"unknown component type {kind} at {where}"
        if component or not where:
            for key, value in tree.items():
                if isinstance(key, str) and (
                    key.startswith("$") or key in PLAIN_VALUE_FIELDS or (not where and key in INERT_FIELDS)
                ):
                    continue
                yield from unknown_types(value, config_path(where, key), in_component=True)
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from unknown_types(value, f"{where}[{index}]", in_component)


#: Component fields whose objects are values to send or copy, not components.
PLAIN_VALUE_FIELDS = frozenset(
    {
        "request_parameters",
        "request_headers",
        "request_body_json",
        "request_body_data",
        "value",
        "extra_fields",
        "config_overrides",
    }
)


def refusals(tree: t.Mapping[str, t.Any], supported_types: t.Collection[str]) -> list[str]:
    """One line per component the tap cannot run (``CustomRecordExtractor (components.X) at
    streams[2].retriever.record_selector.extractor``), in document order: types outside
    ``supported_types``, and always custom code (``class_name``, ``Custom*``) and ``AsyncRetriever``.

    Unparsable templates (:func:`survey`) are not refusals here: the CDK only fails on one when it
    evaluates it (a SelectiveAuthenticator's branch that is not selected never is)."""
    return [str(use) for use in components(tree) if use.custom or use.type in NEVER_SUPPORTED or use.type not in supported_types]
