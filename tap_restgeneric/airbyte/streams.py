"""DeclarativeStream -> a resource of the source model: its request, records, paging, errors,
transformations and schema, one collaborator module per component family.

Substreams (SubstreamPartitionRouter): the parent stream becomes the child's parent resource (a
manifest stream of that name, or a resource of its own not selected by default), the partition's
value the engine's ``resources.<parent>.<parent_key>``; a child whose records or filter read the
partition gets the parent's field copied in (and removed again after the steps that read it).
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.airbyte import (
    auth,
    decoders,
    error_handlers,
    incremental,
    paginators,
    requester,
    selectors,
    transformations,
)
from tap_restgeneric.airbyte import partitions as list_partitions
from tap_restgeneric.airbyte.context import PARAMETERS_KEY, Translation, Untranslatable
from tap_restgeneric.airbyte.evaluators import WINDOW_BOUND

if t.TYPE_CHECKING:
    from collections.abc import Mapping

EMPTY_SCHEMA = {"type": "object", "properties": {}}
WINDOW_START, WINDOW_END = (WINDOW_BOUND, "start_value"), (WINDOW_BOUND, "end_value")


def stream_name(translation: Translation, stream: Mapping[str, t.Any]) -> str:
    name = stream.get("name") or (stream.get(PARAMETERS_KEY) or {}).get("name")
    if not isinstance(name, str) or not name:
        raise Untranslatable(str(stream.get("$path", "streams")), "a stream needs a name")
    return translation.static_text(name, f"{stream.get('$path')}.name", stream.get(PARAMETERS_KEY) or {})


def primary_key(stream: Mapping[str, t.Any]) -> list[str]:
    key = stream.get("primary_key")
    if not key:
        return []
    if isinstance(key, str):
        return [key]
    return [str(part[0] if isinstance(part, list) else part) for part in key]


def schema(stream: Mapping[str, t.Any]) -> dict[str, t.Any]:
    loader = stream.get("schema_loader") or {}
    if loader.get("type") == "InlineSchemaLoader" and isinstance(loader.get("schema"), dict):
        found = _readable(loader["schema"])
        if not isinstance(found.get("properties"), dict):
            found["properties"] = {}
        return found
    return dict(EMPTY_SCHEMA)


def _readable(schema: t.Any) -> dict[str, t.Any]:
    """A schema the SDK's catalog can read: a property or ``items`` that is not a schema object (``null``, or
    a tuple-typed list of schemas) is any value (``{}``); the records are written as received either way."""
    if not isinstance(schema, dict):
        return {}
    found = dict(schema)
    if isinstance(found.get("properties"), dict):
        found["properties"] = {str(k): _readable(v) for k, v in found["properties"].items()}
    if "items" in found:
        found["items"] = _readable(found["items"])
    return found


def parents(stream: Mapping[str, t.Any]) -> list[Mapping[str, t.Any]]:
    """The ParentStreamConfigs of a stream's SubstreamPartitionRouter (one router, one parent)."""
    retriever = stream.get("retriever") or {}
    router = retriever.get("partition_router")
    if not router:
        return []
    routers = router if isinstance(router, list) else [router]
    links = [link for item in routers for link in item.get("parent_stream_configs") or []]
    if len(links) > 1:
        raise Untranslatable(str(routers[0].get("$path")), "a stream with more than one parent stream is not supported")
    return links


def resource(
    translation: Translation, stream: Mapping[str, t.Any], parent_names: Mapping[int, str], *, full_table: bool = False
) -> tuple[dict[str, t.Any], dict[str, t.Any] | None]:
    """(the dlt-form resource of one stream, its auth block); ``full_table``: without its incremental
    (a parent read whole for a child without ``incremental_dependency``)."""
    name = stream_name(translation, stream)
    retriever = stream.get("retriever") or {}
    partitions: dict[str, tuple[str, str]] = {}
    copied: dict[str, tuple[str, ...]] = {}  # a partition field -> where it is in the record (the copied parent field)
    include: list[str] = []
    extra_params: dict[str, t.Any] = {}
    for link in parents(stream):
        at = str(link.get("$path"))
        if link.get("extra_fields"):
            raise Untranslatable(f"{at}.extra_fields", "extra_fields is not supported yet")
        parameters = link.get(PARAMETERS_KEY) or {}
        parent = parent_names[id(link.get("stream"))]
        key = translation.static_text(link.get("parent_key"), f"{at}.parent_key", parameters)
        field = translation.static_text(link.get("partition_field"), f"{at}.partition_field", parameters)
        chain = key.split("/")
        partitions[field] = (parent, key)
        copied[field] = (f"_{parent}_{chain[0]}", *chain[1:])
        include.append(chain[0])
        option = link.get("request_option")
        if option:
            if option.get("inject_into") not in (None, "request_parameter"):
                raise Untranslatable(f"{at}.request_option", f"inject_into {option.get('inject_into')} is not supported yet")
            extra_params[option.get("field_name")] = "{{ resources" + "".join(f"[{p!r}]" for p in [parent, *chain]) + " }}"
    lists, list_fields = list_partitions.list_partitions(translation, stream)
    cursor = None if full_table else stream.get("incremental_sync")
    bounds = incremental.window_fields(cursor)
    window_fields = {bounds.start: WINDOW_START, bounds.end: WINDOW_END} if bounds else {}
    slice_fields = {**window_fields, **list_fields, **partitions}
    endpoint = requester.endpoint(translation, retriever.get("requester") or {}, slice_fields)
    if extra_params:
        endpoint["params"] = {**endpoint.get("params", {}), **extra_params}
    found_decoder = decoders.decoder(retriever.get("decoder"))
    if found_decoder:
        endpoint["decoder"] = found_decoder
    selector = retriever.get("record_selector") or {}
    endpoint["data_selector"] = selectors.data_selector(translation, selector)
    endpoint["record_selection"] = "dpath"
    endpoint["paginator"] = paginator = paginators.paginator(translation, retriever.get("paginator"))
    if paginator["type"] == "cursor" and "limit_param" in paginator:  # CursorPagination's page size: on every request
        endpoint["params"] = {**endpoint.get("params", {}), paginator.pop("limit_param"): str(paginator.pop("limit"))}
    actions, handler = error_handlers.error_handling(translation, (retriever.get("requester") or {}).get("error_handler"))
    if actions:
        endpoint["response_actions"] = actions
    endpoint["error_handler"] = handler
    own_fields = {**window_fields, **list_fields}  # (a parent's field is copied into the record)
    steps = selectors.filter_steps(translation, selector, copied, own_fields) + transformations.steps(
        translation, stream.get("transformations"), copied, own_fields
    )
    reads_copy = any(chain[0] in _sources(step) for step in steps for chain in copied.values())
    if reads_copy:
        steps.append({"exclude": sorted({chain[0] for chain in copied.values()})})
    found: dict[str, t.Any] = {
        "name": name,
        "endpoint": endpoint,
        "primary_key": primary_key(stream),
        "schema": schema(stream),
        "records_as_received": True,
    }
    if steps:
        found["processing_steps"] = steps
    if include and reads_copy:
        found["include_from_parent"] = sorted(set(include))
    if cursor:
        endpoint["incremental"] = incremental.typed_bounds(incremental.incremental_block(translation, cursor), found["schema"])
    if lists:
        found["partitions"] = lists
    return found, auth.auth_block(translation, (retriever.get("requester") or {}).get("authenticator"))


def _sources(step: Mapping[str, t.Any]) -> str:
    """The text of a processing step's templates (to tell whether they read a copied parent field)."""
    values = step.get("map", {}).values() if "map" in step else [step.get("filter")]
    return " ".join(getattr(item, "source", str(item)) for item in values)
