"""``--about`` as text (the default format): the SDK's, with what a user needs to set each setting.

The SDK's text lists each setting's name, JSON type and variable only; its json and markdown
formats carry the descriptions, and so does this one.
"""

from __future__ import annotations

import json
import typing as t

from singer_sdk.about import TextFormatter

from tap_restgeneric.schema_inference import schema_types

if t.TYPE_CHECKING:
    from singer_sdk.about import AboutInfo


def about_text(info: AboutInfo) -> str:
    head = TextFormatter().format_about(info).partition("\nSettings:\n")[0]
    lines = [head, "Settings (in the --config file, or with --config ENV as the variables below):"]
    for name, schema in info.settings.get("properties", {}).items():
        lines.append(f"  - Name: {name}")
        lines.append(f"    Type: {_type_name(schema)}")
        if schema.get("default") is not None:
            lines.append(f"    Default: {json.dumps(schema['default'])}")
        if schema.get("secret"):
            lines.append("    Secret: yes (redacted from logs, errors, recordings and the catalog)")
        lines.append(f"    Environment Variable: {info.env_var_prefix}{name.upper().replace('-', '_')}")
        if schema.get("description"):
            lines.append(f"    Description: {' '.join(str(schema['description']).split())}")
    return "\n".join(lines)


def _type_name(schema: dict) -> str:
    if schema.get("type") is None:
        return "object" if "properties" in schema or "additionalProperties" in schema else "any"
    named = [kind for kind in schema_types(schema) if kind != "null"]
    kind = " or ".join(named)
    return f"{kind} (date-time)" if schema.get("format") == "date-time" else kind
