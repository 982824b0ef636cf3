"""The source config as the rest of the tap reads it: validated, defaults merged, templates compiled."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    from tap_restgeneric.source.parent_link import ParentLink


WRITE_DISPOSITIONS = ("append", "replace", "merge", "skip")
DEFAULT_RETRY_STATUS_CODES = (429, 500, 502, 503, 504)


class ErrorHandlerConfig(t.TypedDict, total=False):
    retry_on_status_codes: list[int]
    max_retries: int
    backoff_factor: float
    max_retry_after: float


DEFAULT_ERROR_HANDLER: ErrorHandlerConfig = {
    "retry_on_status_codes": list(DEFAULT_RETRY_STATUS_CODES),
    "max_retries": 5,
    "backoff_factor": 1,
    "max_retry_after": 60,
}


class IncrementalConfig(t.TypedDict, total=False):
    cursor_path: str
    start_param: str | None
    end_param: str | None
    initial_value: t.Any
    end_value: t.Any
    row_order: str | None
    lag: float | None
    range_start: str | None
    range_end: str | None
    on_cursor_value_missing: str | None


class EndpointConfig(t.TypedDict, total=False):
    path: str
    written_path: str  # the path as the config writes it (metrics and messages name it)
    method: str
    params: dict[str, t.Any]  # values may be compiled Templates
    json: t.Any
    headers: dict[str, t.Any]
    data_selector: str | list[str] | None
    paginator: dict[str, t.Any]  # "type" plus that type's options; templates compiled
    incremental: IncrementalConfig | None
    error_handler: ErrorHandlerConfig
    response_actions: list[dict[str, t.Any]]  # dlt's, as written (status_code, content, action)
    auth: dict[str, t.Any] | None  # dlt's endpoint-level auth (rendered), instead of the client's
    data: t.Any  # dlt's form (a mapping) or raw (a string) request body


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


@dataclass
class Source:
    """A validated source: what every stream of the tap is built from."""

    name: str
    base_url: str
    headers: dict[str, str]
    auth: dict[str, t.Any] | None
    resources: list[ResourceConfig]
    secret_values: list[str] = field(default_factory=list)
    #: client.headers whose templates read secrets: credentials, sent only to base_url's origin.
    secret_headers: frozenset[str] = frozenset()
    #: client.error_handler over the defaults: the retry policy of requests outside any resource (OAuth2 tokens).
    error_handler: ErrorHandlerConfig = field(default_factory=DEFAULT_ERROR_HANDLER.copy)
    #: What the config says that the tap accepts without acting on (logged at INFO).
    notes: list[str] = field(default_factory=list)
    #: Secrets a replay stands placeholders in for (``replay_dir`` set, the secret not).
    replayed_secrets: dict[str, str] = field(default_factory=dict)
    #: What ``secrets`` names in the templates: the setting's, and the placeholders of a replay.
    secrets: dict[str, t.Any] = field(default_factory=dict)
