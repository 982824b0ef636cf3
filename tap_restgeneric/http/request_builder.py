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

from tap_restgeneric.templates import Template, has_templates, render_tree, template_config, uses_secrets

#: What ``{incremental.<name>}`` (and ``{{ incremental.<name> }}``) can read in a request.
INCREMENTAL_NAMES = ("start_value", "end_value", "initial_value")

if t.TYPE_CHECKING:
    from tap_restgeneric.http.paginators import Paginator
    from tap_restgeneric.source.model import EndpointConfig


@dataclasses.dataclass(frozen=True)
class PageToken:
    """What one page's request is built from: the paginator's token, the sync's incremental
    start value, the paginator that puts its token into the request, and (for a child resource)
    the parent record's fields its templates read, as ``resources`` names them."""

    value: t.Any
    start: t.Any
    paginator: Paginator
    resources: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class BodyRequest(HTTPRequest):
    """The SDK's request, plus dlt's ``endpoint.data``: a mapping sent form-encoded, or text as it is
    (``data`` stays the JSON body, which paginators may write into)."""

    form: t.Any = None


class RequestBuilder:
    def __init__(
        self, endpoint: EndpointConfig, base_url: str, client_headers: t.Mapping[str, str], settings: t.Mapping[str, t.Any]
    ) -> None:
        self.endpoint = endpoint
        self.base_url = base_url
        self.client_headers = dict(client_headers)
        self.method = endpoint["method"]
        self.incremental: dict[str, t.Any] = dict(endpoint.get("incremental") or {})
        self.secrets = dict(settings.get("secrets") or {})
        self.config = template_config(settings)
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

    def template_context(self, start: t.Any, resources: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        incremental = self.incremental
        values = (start, incremental.get("end_value"), incremental.get("initial_value"))
        return {
            "secrets": self.secrets,
            "config": self.config,
            "incremental": dict(zip(INCREMENTAL_NAMES, values, strict=True)),
            "resources": resources,
        }

    def url(self, start: t.Any, resources: t.Mapping[str, t.Any]) -> str:
        path = self.endpoint["path"]
        if isinstance(path, Template):
            path = str(path(self.template_context(start, resources)))
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    def build(self, token: PageToken) -> HTTPRequest:
        endpoint = self.endpoint
        params, headers, body = endpoint.get("params") or {}, endpoint.get("headers") or {}, endpoint.get("json")
        form = endpoint.get("data")
        if self.dynamic:
            context = self.template_context(token.start, token.resources)
            params, headers, body = render_tree(params, context), render_tree(headers, context), render_tree(body, context)
            form = render_tree(form, context)
        params = {k: v for k, v in params.items() if v is not None}
        for key, value in (("start_param", token.start), ("end_param", self.incremental.get("end_value"))):
            if self.incremental.get(key) and value is not None:
                params[self.incremental[key]] = value
        request = BodyRequest(
            url=self.url(token.start, token.resources),
            method=self.method,
            params=params,
            headers={**self.client_headers, **{k: str(v) for k, v in headers.items()}},
            data=body,
            form=form,
        )
        token.paginator.apply(request, token.value)
        return request
