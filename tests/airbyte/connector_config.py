"""A connector config generated from a manifest's `spec.connection_specification`: fake secrets, dates
in the spec's pattern or format near the frozen "now" (so windows are few), first enum values, small
page sizes, the first option of each `oneOf`; then a per-connector override file on top."""

from __future__ import annotations

import copy
import functools
import json
import pathlib
import re
import typing as t

from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st

from tests.airbyte import timefmt

if t.TYPE_CHECKING:
    import datetime

OVERRIDES_DIR = pathlib.Path(__file__).with_name("overrides")

# Date formats tried, in order, against a spec's `pattern` (the first that matches is used).
_DATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.000Z",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S+00:00",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y-%m",
    "%Y%m%d",
    "%d-%m-%Y",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%Y/%m/%d",
)
_SIZE_WORDS = ("page_size", "per_page", "limit", "page_limit", "batch_size")
_DATE_WORDS = ("start_date", "start_time", "start_datetime", "replication_start", "start")


def date_text(start: datetime.datetime, prop: dict[str, t.Any]) -> str:
    """`start` written as the property's pattern or format wants it."""
    pattern = prop.get("pattern")
    if pattern:
        for fmt in _DATE_FORMATS:
            text = timefmt.format_datetime(start, fmt)
            if re.search(pattern, text):
                return text
    if prop.get("format") == "date":
        return start.strftime("%Y-%m-%d")
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


def _looks_like_date(key: str, prop: dict[str, t.Any]) -> bool:
    if prop.get("format") in {"date", "date-time"}:
        return True
    pattern = str(prop.get("pattern", ""))
    if pattern and "[0-9]{4}" in pattern and ("[0-9]{2}" in pattern or "\\d{2}" in pattern):
        return True
    return any(key == word or key.endswith(f"_{word}") or key.startswith(f"{word}_") for word in _DATE_WORDS) and key.endswith(
        ("date", "time", "datetime")
    )


@functools.cache
def matching(pattern: str) -> str:
    """The simplest string matching a spec's `pattern` (hypothesis shrinks to it). Derandomized and
    computed once per pattern: the search starts from the same example in every process, whatever
    the tests before it in that process did to the global random state (under pytest-xdist a worker
    once spent 16 min of CPU shrinking `^(sandbox|live)_.+$`, which takes 1 s on its own)."""
    quiet = settings(database=None, suppress_health_check=list(HealthCheck), max_examples=200, derandomize=True)
    return str(find(st.from_regex(pattern, fullmatch=True), lambda _s: True, settings=quiet))


def value_for(key: str, prop: dict[str, t.Any], start: datetime.datetime, path: str) -> t.Any:
    """A valid, deterministic value for one property (a string that must match a `pattern` does)."""
    value = _value_for(key, prop, start, path)
    pattern = prop.get("pattern")
    if isinstance(value, str) and isinstance(pattern, str) and not re.search(pattern, value):
        return matching(pattern)
    items = prop.get("items")
    if isinstance(value, list) and isinstance(items, dict) and isinstance(items.get("pattern"), str):
        return [v if not isinstance(v, str) or re.search(items["pattern"], v) else matching(items["pattern"]) for v in value[:1]]
    return value


def _value_for(key: str, prop: dict[str, t.Any], start: datetime.datetime, path: str) -> t.Any:
    if "const" in prop:
        return prop["const"]
    if prop.get("enum"):
        return prop["enum"][0]
    options = prop.get("oneOf") or prop.get("anyOf")
    if options and isinstance(options[0], dict):
        return value_for(key, {**{k: v for k, v in prop.items() if k not in {"oneOf", "anyOf"}}, **options[0]}, start, path)
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if prop.get("airbyte_secret"):
        return f"fake-secret-{path}" if kind in {None, "string"} else prop.get("default", 1)
    if kind == "object" or "properties" in prop:
        return object_for(prop, start, path)
    if kind == "array":
        if "default" in prop:
            return copy.deepcopy(prop["default"])
        items = prop.get("items") or {}
        if isinstance(items, dict) and (items.get("enum") or items.get("type") == "object" or "properties" in items):
            return [value_for(key, items, start, f"{path}.0")]
        return [f"{key}-a", f"{key}-b"]
    if kind == "boolean":
        return prop.get("default", False)
    if kind in {"integer", "number"}:
        if any(word in key for word in _SIZE_WORDS):
            low, high = prop.get("minimum", 1), prop.get("maximum", 5)
            return max(low, min(5, high))
        if "default" in prop:
            return prop["default"]
        return prop.get("minimum", 1)
    if _looks_like_date(key, prop):
        return date_text(start, prop)
    if "default" in prop:
        return prop["default"]
    return f"test-{key}".replace("_", "-")


def object_for(
    schema: dict[str, t.Any], start: datetime.datetime, path: str = "", referenced: frozenset[str] = frozenset()
) -> dict[str, t.Any]:
    """Required properties, the date-like ones (so that every window starts near the data), the
    choices (`oneOf` objects, as the authenticator selection reads them), the ones the manifest's
    templates read at the top level, and every property of a nested object such as a credentials
    choice (as a user filling in the form would)."""
    properties: dict[str, t.Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    out: dict[str, t.Any] = {}
    for key, prop in properties.items():
        if not isinstance(prop, dict):
            continue
        date_like = _looks_like_date(key, prop) and "end" not in key
        choice = bool(prop.get("oneOf") or prop.get("anyOf")) and prop.get("type", "object") == "object"
        nested = bool(path) and "end" not in key
        wanted = key in required or "const" in prop or date_like or choice or nested or (key in referenced and "end" not in key)
        if wanted:
            out[key] = value_for(key, prop, start, f"{path}.{key}".lstrip("."))
    return out


def deep_merge(base: dict[str, t.Any], top: dict[str, t.Any]) -> dict[str, t.Any]:
    merged = dict(base)
    for key, value in top.items():
        if value is None:
            merged.pop(key, None)  # an override of null removes a generated key
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def overrides(name: str, directory: pathlib.Path = OVERRIDES_DIR) -> dict[str, t.Any]:
    """The connector's override file: `{"config": {...}, "start": "...", "streams": [...]}` (all optional)."""
    path = directory / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


_CONFIG_KEY = re.compile(r"\bconfig(?:\[\s*['\"]([^'\"]+)['\"]\s*\]|\.get\(\s*['\"]([^'\"]+)['\"]|\.([A-Za-z_]\w*))")


def referenced_keys(manifest: t.Any) -> frozenset[str]:
    """Top-level config keys the manifest's templates, authenticator selection paths and config paths read."""
    keys: set[str] = set()

    def visit(node: t.Any) -> None:
        if isinstance(node, dict):
            for field in ("authenticator_selection_path", "access_token_config_path", "refresh_token_config_path"):
                path = node.get(field)
                if isinstance(path, list) and path and isinstance(path[0], str):
                    keys.add(path[0])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)
        elif isinstance(node, str) and "config" in node:
            keys.update(next(g for g in m if g) for m in _CONFIG_KEY.findall(node))

    visit(manifest)
    return frozenset(keys - {"get"})


def generate(
    spec: dict[str, t.Any],
    start: datetime.datetime,
    override: dict[str, t.Any] | None = None,
    referenced: frozenset[str] = frozenset(),
) -> dict[str, t.Any]:
    connection = spec.get("connection_specification") or spec.get("connectionSpecification") or {}
    return deep_merge(object_for(connection, start, referenced=referenced), override or {})
