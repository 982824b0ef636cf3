"""A small reader of Airbyte declarative manifests, for the oracle tooling (not the tap's translator).

It resolves references (`$ref: "#/definitions/x"` splatted under local keys, and bare `"#/a/b"`
strings), then propagates `$parameters` down the component tree and fills in the component type the
CDK implies for a few well-known fields, so that the mock API generator and the corpus census read the
manifest as the CDK does. Written from the documented behaviour of the declarative framework.
"""

from __future__ import annotations

import copy
import re
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterator

REF_KEY = "$ref"
_COMPONENT_NAME = re.compile(r"[A-Z][A-Za-z0-9]+")
PARAMETERS_KEY = "$parameters"
# Values that are connector configuration, not components: never resolved (a config value may look like "#/x").
_CONFIG_VALUED_FIELDS = frozenset({"config_overrides"})

# The component type the CDK assumes when a field holds an object without `type` ("Parent.field").
IMPLIED_TYPES: dict[str, str] = {
    "DeclarativeSource.streams": "DeclarativeStream",
    "DeclarativeSource.check": "CheckStream",
    "DeclarativeSource.spec": "Spec",
    "DeclarativeStream.retriever": "SimpleRetriever",
    "DeclarativeStream.schema_loader": "JsonFileSchemaLoader",
    "SimpleRetriever.requester": "HttpRequester",
    "SimpleRetriever.record_selector": "RecordSelector",
    "SimpleRetriever.paginator": "NoPagination",
    "RecordSelector.extractor": "DpathExtractor",
    "RecordSelector.record_filter": "RecordFilter",
    "HttpRequester.error_handler": "DefaultErrorHandler",
    "DefaultErrorHandler.response_filters": "HttpResponseFilter",
    "DefaultPaginator.page_token_option": "RequestOption",
    "DefaultPaginator.page_size_option": "RequestOption",
    "DatetimeBasedCursor.start_datetime": "MinMaxDatetime",
    "DatetimeBasedCursor.end_datetime": "MinMaxDatetime",
    "DatetimeBasedCursor.start_time_option": "RequestOption",
    "DatetimeBasedCursor.end_time_option": "RequestOption",
    "SubstreamPartitionRouter.parent_stream_configs": "ParentStreamConfig",
    "ParentStreamConfig.stream": "DeclarativeStream",
    "ParentStreamConfig.request_option": "RequestOption",
    "ListPartitionRouter.request_option": "RequestOption",
    "SessionTokenAuthenticator.login_requester": "HttpRequester",
    "OAuthAuthenticator.refresh_token_updater": "RefreshTokenUpdater",
    "AddFields.fields": "AddedFieldDefinition",
    "CompositeErrorHandler.error_handlers": "DefaultErrorHandler",
    "CursorPagination.decoder": "JsonDecoder",
    "DefaultPaginator.decoder": "JsonDecoder",
    "DpathExtractor.decoder": "JsonDecoder",
}


class ManifestError(ValueError):
    """A manifest whose references cannot be resolved."""


def _lookup(path: str, node: t.Any) -> t.Any:
    """The value at a `/`-separated path; a key that itself contains `/` is tried before descending."""
    if not path:
        return node
    if isinstance(node, dict):
        if path in node:
            return node[path]
        parts = path.split("/")
        # The longest key prefix first: "a/b/c" may be the key "a/b" then "c".
        for cut in range(len(parts) - 1, 0, -1):
            head = "/".join(parts[:cut])
            if head in node:
                return _lookup("/".join(parts[cut:]), node[head])
    if isinstance(node, list):
        head, _, rest = path.partition("/")
        if head.isdigit() and int(head) < len(node):
            return _lookup(rest, node[int(head)])
    raise KeyError(path)


def resolve_references(manifest: dict[str, t.Any]) -> dict[str, t.Any]:
    """A copy of the manifest with every `$ref` and `"#/..."` string replaced by what it points to."""

    def visit(node: t.Any, seen: tuple[str, ...]) -> t.Any:
        if isinstance(node, dict):
            local = {
                k: copy.deepcopy(v) if k in _CONFIG_VALUED_FIELDS else visit(v, seen) for k, v in node.items() if k != REF_KEY
            }
            if REF_KEY not in node:
                return local
            target = visit(node[REF_KEY], seen)
            return {**target, **local} if isinstance(target, dict) else target
        if isinstance(node, list):
            return [visit(item, seen) for item in node]
        if isinstance(node, str) and node.startswith("#/"):
            if node in seen:
                raise ManifestError(f"circular reference {node}")
            try:
                target = _lookup(node[2:], manifest)
            except KeyError:
                raise ManifestError(f"undefined reference {node}") from None
            return visit(target, (*seen, node))
        return node

    resolved = visit(manifest, ())
    assert isinstance(resolved, dict)
    return resolved


_JSON_SCHEMA_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})


def _is_json_schema(node: dict[str, t.Any]) -> bool:
    kind = node.get("type")
    return isinstance(kind, list) or (isinstance(kind, str) and kind in _JSON_SCHEMA_TYPES)


def propagate_parameters(node: dict[str, t.Any], field: str = "", inherited: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Give every component the `$parameters` of its ancestors (its own win) and its implied type.

    As in the CDK, a parameter also fills a field of the same name that the component leaves unset,
    and a parameter named like the field being descended into is not passed into that field.
    """
    component = dict(node)
    if "type" not in component and field in IMPLIED_TYPES and "class_name" not in component:
        component["type"] = IMPLIED_TYPES[field]
    parameters = {**(inherited or {}), **(component.pop(PARAMETERS_KEY, None) or {})}
    if _is_json_schema(component):
        return component
    typed = "type" in component
    if typed:
        for key, value in parameters.items():
            if not component.get(key):
                component[key] = value
        component[PARAMETERS_KEY] = dict(parameters)
    for key, value in list(component.items()):
        if key == PARAMETERS_KEY or key in _CONFIG_VALUED_FIELDS:
            continue
        passed = {k: v for k, v in parameters.items() if k != key}
        child_field = f"{component.get('type')}.{key}"
        if isinstance(value, dict) and (typed or _has_components(value)):
            component[key] = propagate_parameters(value, child_field, passed)
        elif isinstance(value, list):
            component[key] = [
                propagate_parameters(item, child_field, passed) if isinstance(item, dict) else item for item in value
            ]
    return component


def _has_components(node: dict[str, t.Any]) -> bool:
    return any(isinstance(v, dict) and "type" in v for v in node.values())


def load(manifest: dict[str, t.Any]) -> dict[str, t.Any]:
    """A manifest as the CDK reads it: references resolved, parameters propagated, types implied."""
    resolved = resolve_references(manifest)
    resolved.pop("definitions", None)
    root = {**resolved, "type": resolved.get("type", "DeclarativeSource")}
    return propagate_parameters(root)


def walk(node: t.Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], dict[str, t.Any]]]:
    """Every component (a dict with a string `type`) with its path, schemas and the spec excluded."""
    if isinstance(node, dict):
        kind = node.get("type")
        if isinstance(kind, str) and _COMPONENT_NAME.fullmatch(kind) and not _is_json_schema(node):
            yield path, node
        for key, value in node.items():
            if key in {"schema", "connection_specification", "schemas", "advanced_auth", PARAMETERS_KEY}:
                continue
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from walk(item, (*path, index))


def streams(manifest: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """The loaded manifest's streams (the static `streams` list)."""
    return [s for s in manifest.get("streams", []) if isinstance(s, dict)]
