"""HttpRequester -> the endpoint's request: URL, method, parameters, headers and body.

``url_base`` and ``path`` are joined as the CDK joins them; values that read only the config and
``$parameters`` are rendered once, as the CDK renders them; values that read the parent's partition
(``stream_partition.<field>``) become the engine's ``resources.<parent>.<key>``. A request option
that reads ``next_page_token`` or the response is not something the engine sends: refused with its path.
"""

from __future__ import annotations

import re
import typing as t

from tap_restgeneric.airbyte import evaluators
from tap_restgeneric.airbyte.context import PARAMETERS_KEY, Translation, Untranslatable

if t.TYPE_CHECKING:
    from collections.abc import Mapping

_DYNAMIC = ("next_page_token", "response", "last_record", "last_page_size", "stream_state")
PARTITION = re.compile(r"\b(?:stream_partition|stream_slice|stream_interval)(?:\.([A-Za-z_]\w*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")

#: A partition field of the stream -> the parent's resource name and the parent record's key.
Partitions = t.Mapping[str, tuple[str, str]]


def join_url(url_base: str, path: str) -> str:
    """The CDK's URL: ``url_base`` with one slash, then ``path`` (an absolute URL path wins)."""
    if path.startswith(("http://", "https://")):
        return path
    if not path:
        return url_base
    return url_base.rstrip("/") + "/" + path.lstrip("/")


def _joined_template(url_base: str, path: str) -> str:
    """The path template with the (rendered) url_base in front, its braces kept as literal text."""
    if path.startswith(("http://", "https://")):
        return path
    base = url_base.rstrip("/").replace("{", "{{ '{' }}") + "/"
    return base + path.lstrip("/")


def request_value(
    translation: Translation,
    value: t.Any,
    where: str,
    parameters: Mapping[str, t.Any],
    partitions: Partitions,
    valid_types: tuple[type, ...] | None = None,
) -> t.Any:
    """One request option value: static (rendered now) or a template over the parent's partition."""
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return value
    if Translation.reads(value, *_DYNAMIC):
        raise Untranslatable(where, "a request value that reads the response or next_page_token is not supported")
    if Translation.reads(value, "stream_partition", "stream_slice", "stream_interval"):
        return evaluators.partition_value(translation, value, where, parameters, partitions, valid_types)
    return translation.static(value, where, parameters)


def request_mapping(
    translation: Translation,
    value: t.Any,
    where: str,
    parameters: Mapping[str, t.Any],
    partitions: Partitions,
    value_types: tuple[type, ...] = (str,),
) -> dict[str, t.Any]:
    """request_parameters / request_headers as the CDK's InterpolatedMapping renders them (values kept
    as text, or a list for parameters: the CDK's ValidRequestTypes, sent as a repeated parameter; an
    empty value not sent); a value over the parent's partition becomes an engine template."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        value = translation.static(value, where, parameters)
        if not isinstance(value, dict):
            raise Untranslatable(where, "must render to an object")
    if not isinstance(value, dict):
        raise Untranslatable(where, "must be an object")
    mapped = {}
    for key, item in value.items():
        name = translation.static_text(str(key), f"{where}.{key}", parameters)
        if isinstance(item, str) and Translation.reads(item, *_DYNAMIC, "stream_partition", "stream_slice", "stream_interval"):
            mapped[name] = request_value(translation, item, f"{where}.{name}", parameters, partitions, (str,))
            continue
        rendered = translation.interpolation.mapping({key: item}, where, (), parameters).eval(
            translation.config, valid_value_types=value_types
        )
        text = next(iter(rendered.values()))
        if text is not None:
            mapped[name] = text
    return mapped


def request_body(
    translation: Translation, value: t.Any, where: str, parameters: Mapping[str, t.Any], partitions: Partitions
) -> t.Any:
    """request_body_json / request_body_data: the CDK's InterpolatedNested (types kept, literals read,
    None dropped from objects); a value over the parent's partition becomes an engine template."""
    if isinstance(value, dict):
        body = {}
        for key, item in value.items():
            name = translation.static_text(str(key), f"{where}.{key}", parameters)
            rendered = request_body(translation, item, f"{where}.{name}", parameters, partitions)
            if rendered is not None:
                body[name] = rendered
        return body
    if isinstance(value, list):
        return [request_body(translation, v, f"{where}[{i}]", parameters, partitions) for i, v in enumerate(value)]
    if isinstance(value, str) and Translation.reads(value, *_DYNAMIC, "stream_partition", "stream_slice", "stream_interval"):
        return request_value(translation, value, where, parameters, partitions)
    return translation.interpolation.nested(value, where, (), parameters).eval(translation.config)


def endpoint(translation: Translation, requester: Mapping[str, t.Any], partitions: Partitions) -> dict[str, t.Any]:
    """The endpoint's request parts of one HttpRequester."""
    where = str(requester.get("$path", "requester"))
    parameters = requester.get(PARAMETERS_KEY) or {}
    url_base = translation.static_text(requester.get("url_base") or "", f"{where}.url_base", parameters)
    raw_path = requester.get("path") or ""
    if Translation.reads(raw_path, *_DYNAMIC):
        raise Untranslatable(f"{where}.path", "a path that reads the response or next_page_token is not supported")
    if Translation.reads(raw_path, "stream_partition", "stream_slice", "stream_interval"):
        path: t.Any = evaluators.partition_value(
            translation, _joined_template(url_base, raw_path), f"{where}.path", parameters, partitions, (str,)
        )
    else:
        path = join_url(url_base, translation.static_text(raw_path, f"{where}.path", parameters))
    result: dict[str, t.Any] = {
        "path": path,
        "method": str(requester.get("http_method") or "GET").upper(),
    }
    params = request_mapping(
        translation, requester.get("request_parameters"), f"{where}.request_parameters", parameters, partitions, (str, list)
    )
    headers = request_mapping(translation, requester.get("request_headers"), f"{where}.request_headers", parameters, partitions)
    if params:
        result["params"] = params
    if headers:
        result["headers"] = headers
    if requester.get("request_body_json") not in (None, "", {}):
        body = requester["request_body_json"]
        if isinstance(body, str):
            body = translation.static(body, f"{where}.request_body_json", parameters)
        result["json"] = request_body(translation, body, f"{where}.request_body_json", parameters, partitions)
    elif requester.get("request_body_data") not in (None, "", {}):
        body = requester["request_body_data"]
        result["data"] = (
            request_body(translation, body, f"{where}.request_body_data", parameters, partitions)
            if isinstance(body, dict)
            else translation.static_text(body, f"{where}.request_body_data", parameters)
        )
    return result
