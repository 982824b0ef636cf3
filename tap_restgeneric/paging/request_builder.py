"""One page's request, from the endpoint's config and that page's ``PageToken``.

Templates in ``path``, ``params``, ``headers`` and ``json`` see ``secrets``, ``config`` (the
settings without secrets) and ``incremental`` (the sync's start value and ``end_value``);
the incremental start and end are sent as ``start_param`` / ``end_param``; the paginator
puts its token in last. The builder also knows which header, parameter and body values are
credentials (their templates read ``secrets``), for ``Transport`` to keep to their origin.
"""

from __future__ import annotations

import dataclasses
import typing as t

from singer_sdk.streams.rest import HTTPRequest

from tap_restgeneric.templates import Template, has_templates, render_tree, uses_secrets

#: What ``{incremental.<name>}`` (and ``{{ incremental.<name> }}``) can read in a request: the
#: attributes of dlt's incremental object that its placeholders read (``last_value`` is the start
#: value before ``lag``, as at the start of a dlt run; the others are the config's, or their defaults).
INCREMENTAL_NAMES = (
    "start_value",
    "end_value",
    "initial_value",
    "last_value",
    "lag",
    "cursor_path",
    "row_order",
    "range_start",
    "range_end",
    "on_cursor_value_missing",
)
#: dlt's defaults of the incremental settings a placeholder may read.
_INCREMENTAL_DEFAULTS = {"range_start": "closed", "range_end": "open", "on_cursor_value_missing": "include"}

if t.TYPE_CHECKING:
    from tap_restgeneric.paging.paginators import Paginator
    from tap_restgeneric.source.model import EndpointConfig
    from tap_restgeneric.source.window_config import Slice


@dataclasses.dataclass(frozen=True)
class PageToken:
    """What one page's request is built from: the paginator's token, the sync's incremental
    start value, the paginator that puts its token into the request, and (for a child resource)
    the parent record's fields its templates read, as ``resources`` names them."""

    value: t.Any
    start: t.Any
    paginator: Paginator
    resources: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    #: A partition's values and a date window's bounds (``source.window_config.Slice``), or None.
    slice: Slice | None = None


@dataclasses.dataclass
class BodyRequest(HTTPRequest):
    """The SDK's request, plus dlt's ``endpoint.data``: a mapping sent form-encoded, or text as it is
    (``data`` stays the JSON body, which paginators may write into)."""

    form: t.Any = None


class RequestBuilder:
    def __init__(
        self,
        endpoint: EndpointConfig,
        base_url: str,
        client_headers: t.Mapping[str, str],
        secrets: t.Mapping[str, t.Any],
        config: t.Mapping[str, t.Any],
    ) -> None:
        self.endpoint = endpoint
        self.base_url = base_url
        self.client_headers = dict(client_headers)
        self.method = endpoint["method"]
        self.incremental: dict[str, t.Any] = dict(endpoint.get("incremental") or {})
        self.secrets = secrets
        self.config = config
        self.dynamic = any(has_templates(endpoint.get(k)) for k in ("params", "json", "data", "headers", "path"))

    @property
    def secret_headers(self) -> set[str]:
        return {name for name, value in (self.endpoint.get("headers") or {}).items() if uses_secrets(value)}

    @property
    def secret_params(self) -> set[str]:
        return {name for name, value in (self.endpoint.get("params") or {}).items() if uses_secrets(value)}

    @property
    def secret_body(self) -> bool:
        return uses_secrets(self.endpoint.get("json")) or uses_secrets(self.endpoint.get("data"))

    def template_context(
        self, start: t.Any, resources: t.Mapping[str, t.Any], last: t.Any = None, piece: Slice | None = None
    ) -> dict[str, t.Any]:
        incremental = {name: self.incremental.get(name, _INCREMENTAL_DEFAULTS.get(name)) for name in INCREMENTAL_NAMES}
        incremental["start_value"] = start
        incremental["last_value"] = start if last is None else last
        if piece is not None and piece.start_text is not None:  # a date window: its bounds as sent
            incremental["start_value"] = incremental["last_value"] = piece.start_text
            incremental["end_value"] = piece.end_text
        partition = dict(piece.partition) if piece is not None else {}
        return {
            "secrets": self.secrets,
            "config": self.config,
            "incremental": incremental,
            "resources": resources,
            "partition": partition,
        }

    def url(self, start: t.Any, resources: t.Mapping[str, t.Any], piece: Slice | None = None) -> str:
        path = self.endpoint["path"]
        if isinstance(path, Template):
            path = str(path(self.template_context(start, resources, piece=piece)))
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    def build(self, token: PageToken) -> BodyRequest:
        endpoint = self.endpoint
        params, headers, body = endpoint.get("params") or {}, endpoint.get("headers") or {}, endpoint.get("json")
        form = endpoint.get("data")
        if self.dynamic:
            context = self.template_context(token.start, token.resources, piece=token.slice)
            params, headers, body = render_tree(params, context), render_tree(headers, context), render_tree(body, context)
            form = render_tree(form, context)
        form = _form_body(form)
        params = {k: v for k, v in params.items() if v is not None}
        if token.slice is None:
            for key, value in (("start_param", token.start), ("end_param", self.incremental.get("end_value"))):
                if self.incremental.get(key) and value is not None:
                    params[self.incremental[key]] = value
        else:  # a partition's values and a window's bounds, each where its option says
            headers = dict(headers)
            for inject_into, name, value in token.slice.injections:
                if inject_into == "request_parameter":
                    params[name] = value
                elif inject_into == "header":
                    headers[name] = value
                elif inject_into == "body_json":
                    body = {**(body if isinstance(body, dict) else {}), name: value}
                else:
                    form = {**(form if isinstance(form, dict) else {}), name: value}
        request = BodyRequest(
            url=self.url(token.start, token.resources, token.slice),
            method=self.method,
            params=params,
            headers={**self.client_headers, **{k: str(v) for k, v in headers.items()}},
            data=body,
            form=form,
        )
        token.paginator.apply(request, token.value)
        return request


def _form_body(form: t.Any) -> t.Any:
    """dlt's ``data`` as ``requests`` sends it: a mapping, or a list of ``[key, value]`` pairs (a key
    may repeat), form-encoded with ``application/x-www-form-urlencoded``; anything else as text with
    no Content-Type (a ``data`` that is one placeholder, ``{resources.p.id}``, renders to the value's
    type: the body is its text). An empty mapping or list sends no body, as in ``requests``."""
    if form is None or isinstance(form, (bytes, str, t.Mapping)):
        return form
    if isinstance(form, list):
        return [tuple(pair) for pair in form]
    return str(form)
