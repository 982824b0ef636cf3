"""The raw source config -> a ``Source``: JSON Schema check, semantic checks, defaults merged.

The whole config is checked before any request; every problem is reported with its path
(``resources[3].endpoint.paginator.type``) and, where it applies, the valid values. The JSON
Schema (``dialect.schema.json``) types every key; the lists of paginator and auth types in it
are filled from the registries in ``tap_restgeneric.paging`` and ``tap_restgeneric.transport`` (their one source).
"""

from __future__ import annotations

import copy
import json
import typing as t
from urllib.parse import urlsplit

import jsonschema

from tap_restgeneric.errors import SourceConfigError, TemplateEvaluationError, config_path, format_path
from tap_restgeneric.output.redact import excerpt
from tap_restgeneric.paging.paginators import PAGINATOR_ALIASES, PAGINATORS
from tap_restgeneric.paging.response_actions import ACTIONS
from tap_restgeneric.paging.selectors import JSONPath
from tap_restgeneric.schema_drift import Contract
from tap_restgeneric.settings import Settings
from tap_restgeneric.source.family import bind_path_params, bind_resolve_params, check_family, dlt_placeholders, parent_link
from tap_restgeneric.source.feature_checks import auth_problems, client_limit_problems, decoder_problems, selected_auth
from tap_restgeneric.source.hints import column_schemas, ignored_hints
from tap_restgeneric.source.loading import Invocation, _package_file, raw_source
from tap_restgeneric.source.model import (
    DEFAULT_ERROR_HANDLER,
    WRITE_DISPOSITIONS,
    EndpointConfig,
    ResourceConfig,
    Source,
)
from tap_restgeneric.source.paginator_config import check_paginator
from tap_restgeneric.source.steps import compile_steps
from tap_restgeneric.source.window_dialect import list_partitions, partition_name_problems, window_config
from tap_restgeneric.templates import (
    REQUEST_NAMES,
    STATIC_NAMES,
    compile_tree,
    render_tree,
    templates_in,
    uses_secrets,
)
from tap_restgeneric.transport.auth import (
    API_KEY_LOCATIONS,
    AUTH_TYPES,
    OAUTH2_CLIENT_AUTH_METHODS,
    SECRET_KEYS,
    SELECTIVE,
    basic_credentials,
)
from tap_restgeneric.transport.recording import REPLAYED_SECRET

if t.TYPE_CHECKING:
    from tap_restgeneric.source.parent_link import ParentLink
    from tap_restgeneric.transport.auth_configs import AuthConfig


def dialect_schema() -> dict:
    """``dialect.schema.json`` with the paginator and auth type lists from the registries."""
    schema = json.loads(_package_file("source/dialect.schema.json").read_text())
    definitions = schema["$defs"]
    definitions["paginator"]["properties"]["type"]["enum"] = [*PAGINATORS, *PAGINATOR_ALIASES]
    definitions["auth"]["properties"]["type"]["enum"] = [*AUTH_TYPES, SELECTIVE]
    definitions["auth"]["properties"]["location"]["enum"] = list(API_KEY_LOCATIONS)
    definitions["response_action"]["properties"]["action"]["enum"] = list(ACTIONS)
    return schema


DIALECT_SCHEMA = dialect_schema()
#: dlt's ``params: {name: {type: incremental, …}}``: the incremental's keys, the parameter being its start_param.
PARAM_INCREMENTAL_KEYS = {"type", *DIALECT_SCHEMA["$defs"]["incremental"]["properties"]} - {"start_param", "end_param"}


def _schema_problem(error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    schema: t.Any = error.schema
    expected: t.Any = error.validator_value
    where = format_path(path) or "(top level)"
    validator = error.validator
    if validator == "enum":
        return f"{where}: {error.instance!r} is not one of {', '.join(map(str, expected))}"
    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        written: t.Any = error.instance
        extra = sorted(set(written) - set(allowed))
        return "; ".join(f"{format_path([*path, key])}: unknown key (valid keys: {', '.join(allowed)})" for key in extra)
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{format_path([*path, missing])}: required key is missing"
    if validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return excerpt(f"{where}: expected {expected}, got {_json_type(error.instance)} {error.instance!r}", 300)
    if validator == "pattern":
        return f"{where}: {error.instance!r} is not a valid name (letters, digits and _, not starting with a digit)"
    if validator == "minItems":
        return f"{where}: at least {error.validator_value} item(s) required, got none"
    if validator in ("minimum", "maximum", "minLength"):
        return f"{where}: {error.message}"
    return excerpt(f"{where}: {error.message}", 300)


def _json_type(value: t.Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


_VALIDATOR = jsonschema.Draft202012Validator(DIALECT_SCHEMA)


#: Keys a resource's value replaces whole, as in dlt (a paginator of another type is not merged
#: option by option into the default's; ``null`` resets an inherited value).
REPLACED_WHOLE = frozenset({"paginator", "auth", "incremental", "data_selector", "columns", "decoder"})


def _deep_merge(base: t.Any, override: t.Any) -> t.Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            whole = key in REPLACED_WHOLE or key not in base
            merged[key] = copy.deepcopy(value) if whole else _deep_merge(base[key], value)
        return merged
    return copy.deepcopy(override)


def load_source(settings: Settings | t.Mapping[str, t.Any], invocation: Invocation | None = None) -> Source:
    """Read the source named by the settings and validate all of it, or raise SourceConfigError.
    ``invocation``: where a relative ``source_file`` is (default: the current directory); a plain
    mapping is read as the settings it holds."""
    if not isinstance(settings, Settings):
        settings = Settings.of(settings)
    name, source = raw_source(settings, invocation)
    if not isinstance(source, dict):
        raise SourceConfigError(
            [f"source: expected an object with client, resource_defaults and resources, got {_json_type(source)}"]
        )
    problems = [_schema_problem(e) for e in sorted(_VALIDATOR.iter_errors(source), key=lambda e: list(map(str, e.absolute_path)))]
    if problems:
        raise SourceConfigError(problems)
    return _Checker(settings, name, source).run()


def check_source(settings: Settings, name: str, source: dict) -> Source:
    """A source in the dialect's model that another front-end wrote (an Airbyte manifest's
    translation): the same semantic checks and assembly, without the JSON Schema of what users write."""
    return _Checker(settings, name, source).run()


class _Checker:
    """Semantic checks and assembly, after the structure passed the JSON Schema."""

    def __init__(self, settings: Settings, name: str, source: dict) -> None:
        self.settings = settings
        self.name = name
        self.source = source
        self.problems: list[str] = []
        self.client_paginator: dict | None = None
        self.notes: list[str] = []
        self.replayed_secrets: dict[str, str] = {}
        self.secrets = dict(settings.secrets)
        self.static_context = {"secrets": self.secrets, "config": settings.template_config}

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def run(self) -> Source:
        client = self.source.get("client", {})
        base_url = self.settings.base_url or client.get("base_url")
        if not base_url:
            self.problem("client.base_url", "required (or set the `base_url` setting)")
        elif not _is_http_url(str(base_url)):
            where = "base_url" if self.settings.base_url else "client.base_url"
            self.problem(where, f"{base_url!r} is not an http(s) URL with a host (e.g. https://api.example.com/v1)")
        auth = self._auth(client.get("auth"))
        self.problems.extend(client_limit_problems(client))
        headers, compiled_headers = self._static(client.get("headers", {}), "client.headers")
        secret_headers = frozenset(name for name, value in (compiled_headers or {}).items() if uses_secrets(value))
        defaults = self.source.get("resource_defaults", {})
        if "error_handler" in client:
            defaults = _deep_merge({"endpoint": {"error_handler": client["error_handler"]}}, defaults)
        self.client_paginator = client.get("paginator")
        resources = []
        seen: dict[str, int] = {}
        links: dict[str, tuple[ParentLink, str]] = {}
        for i, raw in enumerate(self.source["resources"]):
            where = f"resources[{i}]"
            if raw["name"] in seen:
                self.problem(f"{where}.name", f"{raw['name']!r} is already the name of resources[{seen[raw['name']]}]")
            seen.setdefault(raw["name"], i)
            resource = self._resource(_deep_merge(defaults, raw), where)
            resources.append(resource)
            if resource["parent"]:
                links[resource["name"]] = (resource["parent"], where)
        check_family(links, set(seen), self.problem)
        if self.problems:
            raise SourceConfigError(self.problems)
        secret_values = [str(v) for v in self.secrets.values() if v not in (None, "")]
        auths = [block for block in (auth, *(r["endpoint"].get("auth") for r in resources)) if block]
        for block in auths:
            secret_values += [str(block[k]) for k in SECRET_KEYS if block.get(k)]  # type: ignore[literal-required]
        basic = [pair for block in auths if (pair := basic_credentials(block)) is not None]
        return Source(
            name=self.name,
            base_url=str(base_url).rstrip("/") if base_url else "",
            headers={k: str(v) for k, v in headers.items()},
            auth=t.cast("AuthConfig | None", auth),
            resources=resources,
            secret_values=sorted(set(secret_values), key=len, reverse=True),
            basic_credentials=basic,
            secret_headers=secret_headers,
            error_handler=_deep_merge(DEFAULT_ERROR_HANDLER, client.get("error_handler") or {}),
            rate_limit=client.get("rate_limit") or {},
            api_budget=client.get("api_budget"),
            notes=self.notes,
            replayed_secrets=self.replayed_secrets,
            secrets=self.secrets,
            template_config=self.settings.template_config,
        )

    def _compile(self, value: t.Any, where: str, allowed: t.AbstractSet[str]) -> t.Any:
        try:
            compiled = compile_tree(value, where, allowed)
        except ValueError as exc:
            self.problems.append(str(exc))
            return None
        for template in templates_in(compiled):
            for missing in (n for n in template.secret_names if self.secrets.get(n) in (None, "")):
                if self.settings.replay_dir:  # a replay needs no secret: a placeholder stands in
                    self.secrets[missing] = self.replayed_secrets[missing] = REPLAYED_SECRET
                    continue
                self.problem(
                    template.where, f"secret {missing!r} is not set (set it in the `secrets` setting as secrets.{missing})"
                )
        return compiled

    def _static(self, value: t.Any, where: str) -> tuple[t.Any, t.Any]:
        """Compile and render a value whose templates may only use secrets and config:
        (rendered, compiled)."""
        compiled = self._compile(value, where, STATIC_NAMES)
        if compiled is None or self.problems:  # the config is rejected anyway: nothing to render
            return value, compiled
        try:
            return render_tree(compiled, self.static_context), compiled
        except TemplateEvaluationError as exc:
            self.problems.extend(exc.problems)
            return value, compiled

    def _auth(self, auth: dict | None, where: str = "client.auth") -> dict | None:
        """An auth block (the client's, or an endpoint's), rendered; dlt's ``{token: …}`` is bearer."""
        if not auth:
            return None
        kind = auth.get("type") or "bearer"
        if kind == SELECTIVE:  # resolved now: the chosen block stands for it (only its secrets need to be set)
            try:
                name, chosen = selected_auth(auth, self.settings.template_config, where)
            except SourceConfigError as exc:
                self.problems.extend(exc.problems)
                return None
            self.notes.append(f"{where}: selective auth chose {name!r} ({chosen.get('type') or 'bearer'})")
            return self._auth(chosen, f"{where}.authenticators.{name}")
        auth = {**auth, "type": kind}
        self.problems.extend(auth_problems(kind, auth, where))
        accepted, required = AUTH_TYPES[kind].accepted, AUTH_TYPES[kind].required
        for key in sorted(set(auth) - accepted - {"type"}):
            self.problem(
                config_path(where, key), f"unknown key for auth type {kind!r} (valid keys: type, {', '.join(sorted(accepted))})"
            )
        for key in sorted(required - set(auth)):
            self.problem(config_path(where, key), f"required for auth type {kind!r}")
        method = auth.get("client_auth_method", OAUTH2_CLIENT_AUTH_METHODS[0])
        if kind == "oauth2_client_credentials" and method not in OAUTH2_CLIENT_AUTH_METHODS:
            self.problem(f"{where}.client_auth_method", f"{method!r} is not one of {', '.join(OAUTH2_CLIENT_AUTH_METHODS)}")
        rendered, _ = self._static(auth, where)
        for key in sorted(required & set(rendered)):
            if rendered.get(key) in (None, ""):
                self.problem(config_path(where, key), "is empty")
        return rendered

    def _resource(self, merged: dict, where: str) -> ResourceConfig:
        endpoint = dict(merged.get("endpoint") or {})
        endpoint.setdefault("path", merged["name"])
        endpoint["written_path"] = endpoint["path"]
        bind_resolve_params(endpoint, where, self.problem)
        bind_path_params(endpoint, where, self.problem)
        endpoint["method"] = endpoint.get("method", "GET").upper()
        if endpoint.get("auth"):  # dlt's endpoint-level auth, instead of the client's for this resource
            endpoint["auth"] = self._auth(endpoint["auth"], f"{where}.endpoint.auth")
        self._incremental_from_params(endpoint, where)
        incremental = endpoint.get("incremental")
        if incremental and ("." in incremental["cursor_path"] or incremental["cursor_path"].startswith("$")):
            self.problem(
                f"{where}.endpoint.incremental.cursor_path",
                f"{incremental['cursor_path']!r}: the cursor must be a top-level field of the record "
                "(it becomes the stream's replication key)",
            )
        if endpoint.get("json") is not None and endpoint.get("data") is not None:
            self.problem(f"{where}.endpoint", "set either json or data (a form or raw body), not both (as in dlt)")
        for key in ("params", "json", "data", "headers"):
            if key in endpoint:
                at = config_path(f"{where}.endpoint", key)
                endpoint[key] = self._compile(dlt_placeholders(endpoint[key], at, self.problem), at, REQUEST_NAMES)
        at = f"{where}.endpoint.path"
        endpoint["path"] = self._compile(dlt_placeholders(endpoint["path"], at, self.problem), at, REQUEST_NAMES)
        parent = parent_link(endpoint, merged.get("include_from_parent"), where, self.problem)
        # dlt: no paginator (or null) on the endpoint -> the client's, else detection.
        paginator = endpoint.get("paginator") or self.client_paginator
        endpoint["paginator"] = check_paginator(paginator, f"{where}.endpoint.paginator", self.problem, self._compile)
        if endpoint.get("decoder") is not None:
            self.problems.extend(decoder_problems(endpoint["decoder"], f"{where}.endpoint.decoder"))
        if endpoint.get("data_selector") is not None:
            try:
                JSONPath(endpoint["data_selector"])
            except ValueError as exc:
                self.problem(f"{where}.endpoint.data_selector", str(exc))
        error_handler = _deep_merge(DEFAULT_ERROR_HANDLER, merged.get("error_handler") or {})
        endpoint["error_handler"] = _deep_merge(error_handler, endpoint.get("error_handler") or {})
        primary_key = merged.get("primary_key") or []
        primary_key = [primary_key] if isinstance(primary_key, str) else list(primary_key)
        disposition = self._write_disposition(merged.get("write_disposition", "append"), f"{where}.write_disposition")
        schema = merged.get("schema")
        if schema is not None and not isinstance(schema.get("properties"), dict):
            self.problem(f"{where}.schema", "must be a JSON Schema object with `properties`")
        contract = merged.get("schema_contract")
        try:
            Contract.parse(contract, f"{where}.schema_contract")
        except SourceConfigError as exc:
            self.problems.extend(exc.problems)
        self.notes.extend(ignored_hints(merged, where))
        partitions = list_partitions(merged.get("partitions"), f"{where}.partitions", self.problem, self._rendered)
        requests = [endpoint.get(key) for key in ("path", "params", "headers", "json", "data")]
        self.problems += partition_name_problems(templates_in(requests), partitions)
        return ResourceConfig(
            name=merged["name"],
            endpoint=t.cast("EndpointConfig", endpoint),
            primary_key=primary_key,
            write_disposition=disposition,
            schema=schema,
            schema_contract=contract,
            parent=parent,
            columns=column_schemas(merged.get("columns"), f"{where}.columns", self.problem),
            processing_steps=compile_steps(merged.get("processing_steps"), f"{where}.processing_steps", self.problems.append),
            selected=merged.get("selected", True) and disposition != "skip",
            windows=window_config(
                endpoint.get("incremental"),
                f"{where}.endpoint.incremental",
                self.problem,
                partitioned=bool(merged.get("partitions")),
            ),
            partitions=partitions,
            records_as_received=bool(merged.get("records_as_received")),  # set by the Airbyte front-end only
        )

    def _rendered(self, value: t.Any, where: str) -> t.Any:
        """A value whose templates read only secrets and config, rendered (a partition list's values)."""
        return self._static(value, where)[0]

    def _incremental_from_params(self, endpoint: dict, where: str) -> None:
        """dlt's ``params: {since: {type: incremental, cursor_path: ...}}`` -> ``endpoint.incremental``."""
        params = endpoint.get("params") or {}
        for name, value in list(params.items()):
            if isinstance(value, dict) and value.get("type") == "incremental":
                at = config_path(f"{where}.endpoint.params", name)
                if endpoint.get("incremental"):
                    self.problem(at, "a resource can have one incremental: this one and endpoint.incremental are both set")
                    continue
                unknown = set(value) - PARAM_INCREMENTAL_KEYS
                if unknown:
                    self.problem(
                        at,
                        f"unknown key(s) {', '.join(sorted(unknown))} (valid keys: {', '.join(sorted(PARAM_INCREMENTAL_KEYS))})",
                    )
                if not value.get("cursor_path"):
                    self.problem(f"{at}.cursor_path", "required key is missing")
                    continue
                endpoint["incremental"] = {"start_param": name, **{k: v for k, v in value.items() if k != "type"}}
                params = {k: v for k, v in params.items() if k != name}
            elif isinstance(value, dict):
                self.problem(
                    config_path(f"{where}.endpoint.params", name),
                    f"an object parameter must have type 'incremental', got {value.get('type')!r}",
                )
        if "params" in endpoint:
            endpoint["params"] = params

    def _write_disposition(self, value: t.Any, where: str) -> str:
        disposition = value.get("disposition") if isinstance(value, dict) else value
        if isinstance(value, dict) and set(value) - {"disposition", "strategy"}:
            self.problem(
                where,
                f"unknown key(s) {', '.join(sorted(set(value) - {'disposition', 'strategy'}))} "
                "(valid keys: disposition, strategy)",
            )
        if disposition not in WRITE_DISPOSITIONS:
            self.problem(where, f"{disposition!r} is not one of {', '.join(WRITE_DISPOSITIONS)}")
            return "append"
        return disposition


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)
