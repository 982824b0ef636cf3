"""The source config as the rest of the tap reads it: validated, defaults merged, templates compiled."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from typing_extensions import NotRequired

from tap_restgeneric.transport.retry import DEFAULT_ERROR_HANDLER, ErrorHandlerConfig

if t.TYPE_CHECKING:
    from tap_restgeneric.paging.paginators.configs import PaginatorConfig
    from tap_restgeneric.source.incremental_config import IncrementalConfig
    from tap_restgeneric.source.parent_link import ParentLink
    from tap_restgeneric.source.window_config import ListPartition, WindowConfig
    from tap_restgeneric.transport.auth_configs import AuthConfig


WRITE_DISPOSITIONS = ("append", "replace", "merge", "skip")


class EndpointConfig(t.TypedDict, total=False):
    path: str
    written_path: str  # the path as the config writes it (metrics and messages name it)
    method: str
    params: dict[str, t.Any]  # values may be compiled Templates
    json: t.Any
    headers: dict[str, t.Any]
    data_selector: str | list[str] | None
    paginator: PaginatorConfig  # templates compiled
    incremental: IncrementalConfig | None
    error_handler: ErrorHandlerConfig
    response_actions: list[dict[str, t.Any]]  # dlt's, as written (status_code, content, action)
    auth: AuthConfig | None  # dlt's endpoint-level auth (rendered), instead of the client's
    data: t.Any  # dlt's form (a mapping) or raw (a string) request body
    decoder: dict[str, t.Any] | None  # how bodies are read (json, jsonl, csv, xml; compression gzip or zip)
    #: How data_selector finds the records: "dlt" (the default), or "dpath" (Airbyte's DpathExtractor: a
    #: missing path is no records, the whole body `[]` of an object is one record, `*` matches every item).
    record_selection: str


class ResourceConfig(t.TypedDict):
    name: str
    endpoint: EndpointConfig
    primary_key: list[str]
    write_disposition: str
    schema: dict | None
    schema_contract: t.Any  # dlt's schema_contract as written (None: the setting's)
    parent: ParentLink | None  # a child resource's parent and the fields it reads (None: top level)
    columns: dict[str, dict]  # dlt's `columns` hint as JSON Schema, merged into the stream's schema
    selected: bool  # selected by default in the catalog (dlt's `selected`, not `skip`)
    processing_steps: list[tuple[str, t.Any]]  # (filter | map | exclude, compiled templates)
    windows: WindowConfig | None  # date windows (endpoint.incremental's window keys), None: one range
    partitions: list[ListPartition]  # lists the resource is read once per value of (their product)
    #: Records written as the API sent them: no schema_contract, no type conformance (an Airbyte
    #: manifest's streams, as the CDK emits them).
    records_as_received: NotRequired[bool]


@dataclass
class Source:
    """A validated source: what every stream of the tap is built from."""

    name: str
    base_url: str
    headers: dict[str, str]
    auth: AuthConfig | None
    resources: list[ResourceConfig]
    #: Every credential the config holds (the ``secrets`` setting's, and the auth blocks' secret keys),
    #: and the user and password pairs sent as HTTP Basic: the tap registers them for redaction.
    secret_values: list[str] = field(default_factory=list)
    basic_credentials: list[tuple[str, str]] = field(default_factory=list)
    #: client.headers whose templates read secrets: credentials, sent only to base_url's origin.
    secret_headers: frozenset[str] = frozenset()
    #: client.error_handler over the defaults: the retry policy of requests outside any resource (OAuth2 tokens).
    error_handler: ErrorHandlerConfig = field(default_factory=DEFAULT_ERROR_HANDLER.copy)
    #: client.rate_limit: header-driven waits (max_wait, header names); client.api_budget: fixed call budgets.
    rate_limit: dict[str, t.Any] = field(default_factory=dict)
    api_budget: dict[str, t.Any] | None = None
    #: What the config says that the tap accepts without acting on (logged at INFO).
    notes: list[str] = field(default_factory=list)
    #: Secrets a replay stands placeholders in for (``replay_dir`` set, the secret not).
    replayed_secrets: dict[str, str] = field(default_factory=dict)
    #: What ``secrets`` names in the templates: the setting's, and the placeholders of a replay.
    secrets: dict[str, t.Any] = field(default_factory=dict)
    #: What ``config`` names in the templates: the settings' (dlt), or an Airbyte manifest's connector
    #: config (``manifest_config``).
    template_config: t.Mapping[str, t.Any] = field(default_factory=dict)
