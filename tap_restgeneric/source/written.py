"""The dialect's JSON Schema *as users write it*: with dlt's shorthands, for editors.

``dialect.schema.json`` types the config after its shorthands are expanded (a resource given as a
string, an endpoint as a path, a paginator as a type name). This schema admits the shorthands too,
so a YAML editor can check a source file while it is written::

    tap-restgeneric --dialect-schema > dialect.schema.json
    # first line of a source file:
    # yaml-language-server: $schema=./dialect.schema.json
"""

from __future__ import annotations

import copy
import json
import typing as t

from tap_restgeneric.source.validation import DIALECT_SCHEMA


def written_schema() -> dict[str, t.Any]:
    """``DIALECT_SCHEMA`` with each shorthand admitted where dlt admits it."""
    schema = copy.deepcopy(DIALECT_SCHEMA)
    schema["title"] = "tap-restgeneric source config (dlt rest_api_source dialect, as written)"
    schema["description"] = (
        "A source file as users write it: dlt's shorthands (resources as strings, endpoints as paths, "
        "paginators as type names) included."
    )
    definitions = schema["$defs"]
    types = definitions["paginator"]["properties"]["type"]["enum"]
    definitions["paginator_written"] = {"anyOf": [{"type": "string", "enum": types}, {"$ref": "#/$defs/paginator"}]}
    definitions["endpoint_written"] = {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/endpoint"}]}
    definitions["endpoint"]["properties"]["paginator"] = {"$ref": "#/$defs/paginator_written"}
    definitions["client"]["properties"]["paginator"] = {"$ref": "#/$defs/paginator_written"}
    for holder in ("resource", "resource_defaults"):
        definitions[holder]["properties"]["endpoint"] = {"$ref": "#/$defs/endpoint_written"}
    schema["properties"]["resources"]["items"] = {"anyOf": [{"type": "string", "minLength": 1}, {"$ref": "#/$defs/resource"}]}
    return schema


def written_schema_text() -> str:
    return json.dumps(written_schema(), indent=2) + "\n"
