"""The source the settings name, whichever front-end reads it: an Airbyte manifest (recognised by
:func:`~tap_restgeneric.airbyte.manifest.is_manifest`) is refused whole or translated; anything else is
the dlt dialect. Either way the result is the one source model the streams run.

For a manifest, before any request: every component the tap cannot run is named, with its place, in
one line; ``manifest_config`` is checked against ``spec.connection_specification`` (one line per
problem, ``manifest_config.<field>: ...``); the fields the spec marks ``airbyte_secret`` become the
source's secrets.
"""

from __future__ import annotations

import dataclasses
import typing as t

import jsonschema

from tap_restgeneric.airbyte import incremental
from tap_restgeneric.airbyte.context import Translation
from tap_restgeneric.airbyte.manifest import is_manifest, read_manifest
from tap_restgeneric.airbyte.support import refusals
from tap_restgeneric.airbyte.translate import fixed_ends, translate
from tap_restgeneric.errors import SourceConfigError, config_path
from tap_restgeneric.source.loading import Invocation, raw_source
from tap_restgeneric.source.validation import check_source, load_source

if t.TYPE_CHECKING:
    from tap_restgeneric.settings import Settings
    from tap_restgeneric.source.model import Source


def load_any_source(settings: Settings, invocation: Invocation | None = None) -> Source:
    """The checked source of the settings: a dlt config, or an Airbyte manifest translated."""
    name, document = raw_source(settings, invocation)
    if is_manifest(document):
        return manifest_source(settings, name, document)
    if settings.manifest_config:
        raise SourceConfigError(["manifest_config: set, but the source is not an Airbyte manifest (type: DeclarativeSource)"])
    return load_source(settings, invocation)


def manifest_source(settings: Settings, name: str, document: t.Mapping[str, t.Any]) -> Source:
    tree = read_manifest(document)
    refused = refusals(tree)
    if refused:
        raise SourceConfigError([f"manifest: the tap cannot run {'; '.join(refused)}"])
    spec = dict(((tree.get("spec") or {}).get("connection_specification")) or {})
    config = dict(settings.manifest_config or {})
    check_connector_config(config, spec)
    translation = Translation(config, settings.now)
    translated = translate(tree, translation)
    secrets = {**settings.secrets, **secret_fields(config, spec)}
    source = check_source(dataclasses.replace(settings, template_config=config, secrets=secrets), name, translated)
    incremental.fixed_ends(source, fixed_ends(tree, translation))
    return source


def check_connector_config(config: t.Mapping[str, t.Any], spec: dict[str, t.Any]) -> None:
    """``manifest_config`` against the spec's JSON Schema: one line per problem, secrets never shown."""
    if not spec:
        return
    validator_class = jsonschema.validators.validator_for(spec, default=jsonschema.Draft7Validator)
    try:
        validator_class.check_schema(spec)
    except jsonschema.SchemaError as exc:
        raise SourceConfigError([f"manifest: spec.connection_specification is not a valid JSON Schema: {exc.message}"]) from None
    problems = []
    for error in sorted(validator_class(spec).iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        where = "manifest_config"
        for part in error.absolute_path:
            where = f"{where}[{part}]" if isinstance(part, int) else config_path(where, str(part))
        problems.append(f"{where}: {_message(error)}")
    if problems:
        raise SourceConfigError(problems)


def _message(error: jsonschema.ValidationError) -> str:
    """The validator's message, without the offending value (it may be a secret)."""
    if error.validator == "required":
        return error.message.split(" is a required property")[0] + " is required"
    if error.validator in ("type", "enum", "pattern", "minimum", "maximum", "format", "minLength", "maxLength"):
        expected = error.validator_value
        return f"does not match the spec ({error.validator}: {expected})"
    return f"does not match the spec ({error.validator})"


def secret_fields(connector: t.Mapping[str, t.Any], spec: t.Mapping[str, t.Any], prefix: str = "") -> dict[str, t.Any]:
    """The config values whose spec property says ``airbyte_secret``, at any depth (oneOf branches too)."""
    found: dict[str, t.Any] = {}
    properties: dict[str, t.Any] = dict(spec.get("properties") or {})
    for branch in spec.get("oneOf") or spec.get("anyOf") or []:
        if isinstance(branch, dict):
            for key, value in (branch.get("properties") or {}).items():
                properties.setdefault(key, value)
    for key, schema in properties.items():
        if not isinstance(schema, dict) or key not in connector:
            continue
        value = connector[key]
        if schema.get("airbyte_secret") and value not in (None, ""):
            found[f"{prefix}{key}"] = value
        elif isinstance(value, dict):
            found.update(secret_fields(value, schema, f"{prefix}{key}."))
    return found
