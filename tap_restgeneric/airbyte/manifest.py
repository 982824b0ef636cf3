"""Reading an Airbyte declarative manifest as the Airbyte CDK (7.39.1) reads it, before any model.

:func:`read_manifest` gives a plain dict tree, in three steps the CDK takes too:

1. a top-level ``type`` of ``DeclarativeSource`` when none is given;
2. references resolved (:func:`resolve_references`): any string ``#/a/b`` is the value at that JSON
   pointer (tried whole at each level, then split at the first ``/``, as the CDK does), and
   ``$ref: "#/a/b"`` in an object merges the referenced object under the object's own keys; the older
   ``*ref(a.b)`` form means ``#/a/b``. A cycle, or a reference to nothing, is one line naming where;
3. types and ``$parameters`` propagated (:func:`propagate_parameters`): an untyped sub-component gets
   the CDK's default type for its field; parameters flow down to every sub-component, a component's
   own ``$parameters`` win, and each parameter is copied into every component whose field of that
   name is missing *or falsy* (``path: ""`` takes the stream's ``path`` parameter).

Each component (an object whose ``type`` is one of the dialect's, or that names ``class_name``) then
carries its place in the tree under ``$path`` (``streams[3].retriever.paginator``), for error messages.
"""

from __future__ import annotations

import copy
import re
import typing as t

from tap_restgeneric.airbyte.vocabulary import COMPONENT_TYPES, CUSTOM_TYPES, DEFAULT_TYPES
from tap_restgeneric.errors import SourceConfigError, config_path

REF_KEY = "$ref"
PARAMETERS_KEY = "$parameters"
PATH_KEY = "$path"
#: Fields whose values are connector config, copied as they are (not resolved).
CONFIG_VALUE_FIELDS = frozenset({"config_overrides"})
#: Top-level fields that hold no live component: reference targets, JSON schemas, builder metadata.
INERT_FIELDS = frozenset({"definitions", "schemas", "metadata"})
#: The most values references may expand a manifest to (a few nested references can multiply it).
MAX_VALUES = 1_000_000
_OLD_REF = re.compile(r"^\*ref\((.*)\)$")


class ManifestError(SourceConfigError):
    """A manifest that cannot be read; one line naming where."""

    def __init__(self, message: str) -> None:
        super().__init__([f"manifest: {message}"])


def is_manifest(document: t.Any) -> bool:
    """Whether a loaded document is an Airbyte declarative manifest rather than a dlt config."""
    if not isinstance(document, dict):
        return False
    return document.get("type") == "DeclarativeSource" or (
        "version" in document and ("streams" in document or "dynamic_streams" in document)
    )


def read_manifest(document: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The manifest with references resolved, types and parameters propagated, and components' paths kept."""
    manifest = dict(document)
    manifest.setdefault("type", "DeclarativeSource")
    tree = propagate_parameters(resolve_references(manifest))
    for path, component in iter_components(tree):
        component[PATH_KEY] = path
    return tree


# ---------------------------------------------------------------------------------------------------------------
# references


def _reference(value: t.Any) -> str | None:
    """The ``#/...`` pointer a string stands for, or None."""
    if not isinstance(value, str):
        return None
    if value.startswith("#/"):
        return value
    old = _OLD_REF.match(value)
    return "#/" + old.group(1).replace(".", "/") if old else None


class _Resolver:
    def __init__(self, manifest: t.Mapping[str, t.Any]) -> None:
        self.manifest = manifest
        self.values = 0

    def resolve(self, node: t.Any, where: str, chain: tuple[str, ...]) -> t.Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise ManifestError(f"references expand the manifest past {MAX_VALUES:,} values (at {where or 'the top'})")
        if isinstance(node, dict):
            own = {
                key: copy.deepcopy(value) if key in CONFIG_VALUE_FIELDS else self.resolve(value, config_path(where, key), chain)
                for key, value in node.items()
                if key != REF_KEY
            }
            if REF_KEY not in node:
                return own
            target = node[REF_KEY]
            if _reference(target) is None:
                raise ManifestError(f"{config_path(where, REF_KEY)}: {target!r} is not a reference (write '#/definitions/...')")
            referenced = self.resolve(target, where, chain)
            return {**referenced, **own} if isinstance(referenced, dict) else referenced
        if isinstance(node, list):
            return [self.resolve(value, f"{where}[{index}]", chain) for index, value in enumerate(node)]
        pointer = _reference(node)
        if pointer is None:
            return node
        if pointer in chain:
            raise ManifestError(
                f"circular reference at {where or 'the top'}: {' -> '.join([*chain[chain.index(pointer) :], pointer])}"
            )
        return self.resolve(self.lookup(pointer, where), where, (*chain, pointer))

    def lookup(self, pointer: str, where: str) -> t.Any:
        """The raw value at ``#/a/b``: the whole rest of the path is tried as a key at each level
        before it is split at its first ``/`` (a key may contain ``/``); digits index lists."""
        node: t.Any = self.manifest
        rest = pointer[2:]
        while rest:
            if isinstance(node, dict) and rest in node:
                return node[rest]
            head, _, rest = rest.partition("/")
            try:
                node = node[_index_or_key(head)]
            except (KeyError, IndexError, TypeError):
                raise ManifestError(f"{where or 'the top'}: reference {pointer!r} points at nothing") from None
        return node


def _index_or_key(step: str) -> int | str:
    """A path step that reads as an integer (as Python's ``int`` reads it) indexes a list."""
    try:
        return int(step)
    except ValueError:
        return step


def resolve_references(manifest: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The manifest with every reference replaced by what it points at (a new tree)."""
    try:
        return t.cast("dict[str, t.Any]", _Resolver(manifest).resolve(manifest, "", ()))
    except RecursionError:
        raise ManifestError("nested too deeply to read") from None


# ---------------------------------------------------------------------------------------------------------------
# types and parameters


def _is_json_schema(component: t.Mapping[str, t.Any]) -> bool:
    """A JSON schema, not a component: ``type: object``, or a type that is a union list or a property."""
    kind = component.get("type")
    return kind == "object" or isinstance(kind, (list, dict))


def propagate_parameters(
    component: t.Mapping[str, t.Any],
    field: str = "",
    parent_parameters: t.Mapping[str, t.Any] | None = None,
    use_parent_parameters: bool | None = None,
) -> dict[str, t.Any]:
    """A copy of ``component`` with default types filled in and ``$parameters`` propagated, exactly
    as the CDK's ``ManifestComponentTransformer``. ``field`` is ``<parent type>.<field>`` (empty at
    the top); ``use_parent_parameters`` (dynamic streams) lets the parent's parameters win."""
    result = copy.deepcopy(dict(component))
    if "type" not in result:
        found = (CUSTOM_TYPES if "class_name" in result else DEFAULT_TYPES).get(field)
        if found:
            result["type"] = found
    inherited = copy.deepcopy(dict(parent_parameters or {}))
    own = result.pop(PARAMETERS_KEY, {})
    parameters = {**own, **inherited} if use_parent_parameters else {**inherited, **own}
    if _is_json_schema(result):
        return result
    if "type" not in result:
        # An untyped object (request_parameters...) passes parameters on to the components it holds.
        for key, value in result.items():
            if isinstance(value, dict) and value.get("type"):
                result[key] = propagate_parameters(value, field, parameters, use_parent_parameters)
        return result
    for key, value in parameters.items():
        result[key] = result.get(key) or value
    kind = result.get("type")
    for key, value in list(result.items()):
        if not isinstance(value, (dict, list)):
            continue
        # A parameter named like the field does not flow into it (it would nest itself forever);
        # it is put back after, unless falsy (the CDK drops a falsy one from then on).
        withheld = parameters.pop(key, None)
        if isinstance(value, dict):
            result[key] = propagate_parameters(value, f"{kind}.{key}", parameters, use_parent_parameters)
        else:
            for index, element in enumerate(value):
                if isinstance(element, dict):
                    value[index] = propagate_parameters(element, f"{kind}.{key}", parameters, use_parent_parameters)
        if withheld:
            parameters[key] = withheld
    if parameters:
        result[PARAMETERS_KEY] = parameters
    return result


# ---------------------------------------------------------------------------------------------------------------
# components


def is_component(value: t.Any) -> bool:
    """An object of the dialect: a known ``type``, or custom code (``class_name``)."""
    if not isinstance(value, dict):
        return False
    kind = value.get("type")
    return (isinstance(kind, str) and kind in COMPONENT_TYPES) or "class_name" in value


def iter_components(tree: t.Any, where: str = "") -> t.Iterator[tuple[str, dict[str, t.Any]]]:
    """Every live component of a read manifest with its path, parents first (``definitions``,
    ``schemas``, ``metadata`` and ``$parameters`` hold none)."""
    if isinstance(tree, dict):
        if is_component(tree):
            yield where, tree
        for key, value in tree.items():
            if (isinstance(key, str) and key.startswith("$")) or (not where and key in INERT_FIELDS):
                continue
            yield from iter_components(value, config_path(where, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from iter_components(value, f"{where}[{index}]")
