"""The "Airbyte's records, exactly" oracle: how a connector is set up against the mock API (the same way
for the CDK and for the tap), how the CDK's output is read, the golden files, and the comparison.

A golden file (tests/airbyte/goldens/<connector>.json) holds, per run (the first, then a second one
given the first run's final state): the records per stream in the order the CDK emitted them, the
final state, the requests the mock API saw, the CDK's error messages, and the setup they came from
(the connector's pin, the generated config, the frozen "now", the CDK version).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import io
import json
import pathlib
import re
import typing as t
import zipfile
from collections import Counter

import yaml

from tests.airbyte import connector_config, manifests, mockapi, resolve, timefmt

GOLDENS_DIR = pathlib.Path(__file__).with_name("goldens")
COMPONENTS_DIR = pathlib.Path(__file__).with_name("components")
TIMINGS_FILE = pathlib.Path(__file__).with_name("cdk_timings.json")  # the CDK's wall and CPU time per run
# The instant the oracle runs are frozen at (the CDK through freezegun; the tap through this variable).
FROZEN_NOW = datetime.datetime(2026, 1, 15, 12, 34, 56, tzinfo=datetime.timezone.utc)
NOW_ENV = "TAP_RESTGENERIC_TEST_NOW"
# Connector configs start two and a half days before "now", so that date windows are few.
DEFAULT_START = datetime.datetime(2026, 1, 13, tzinfo=datetime.timezone.utc)
MOCK_HOST = "http://mock.invalid"
_PORTED_BASE = re.compile(r"http://127\.0\.0\.1:\d+")


def now_text(now: datetime.datetime = FROZEN_NOW) -> str:
    """The frozen instant as TAP_RESTGENERIC_TEST_NOW carries it (ISO 8601, UTC, `Z`)."""
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- preparing a manifest


def _wheel_files(pin: manifests.Pin) -> dict[str, bytes]:
    package = pin.member.split("/", 1)[0]
    with zipfile.ZipFile(io.BytesIO(manifests.wheel_bytes(pin))) as wheel:
        return {n[len(package) + 1 :]: wheel.read(n) for n in wheel.namelist() if n.startswith(f"{package}/")}


def prepare_pinned(pin: manifests.Pin) -> dict[str, t.Any]:
    """The pinned manifest as a standalone file: older connectors keep their spec (spec.yaml/json) and
    stream schemas (schemas/<name>.json) beside the manifest in the wheel; they are inlined (the spec as
    `spec`, each schema as the stream's InlineSchemaLoader), references left as they are."""
    files = _wheel_files(pin)
    raw = yaml.safe_load(files["manifest.yaml"])
    if "spec" not in raw:
        for name in ("spec.yaml", "spec.json"):
            if name in files:
                spec = yaml.safe_load(files[name])
                raw["spec"] = {
                    "type": "Spec",
                    "connection_specification": spec.get("connectionSpecification") or spec.get("connection_specification"),
                    "documentation_url": spec.get("documentationUrl", ""),
                }
                break
    _inline_named_schemas(raw, files)
    loaded = resolve.load(raw)
    for index, stream in enumerate(resolve.streams(loaded)):
        loader = stream.get("schema_loader") or {}
        if loader.get("type") == "InlineSchemaLoader":
            continue
        file_name = _schema_file(loader, str(stream.get("name") or ""))
        schema = json.loads(files[file_name]) if file_name in files else {"type": "object", "properties": {}}
        entry = raw["streams"][index]
        inline = {"type": "InlineSchemaLoader", "schema": schema}
        raw["streams"][index] = (
            {"$ref": entry, "schema_loader": inline} if isinstance(entry, str) else {**entry, "schema_loader": inline}
        )
    return raw


def _schema_file(loader: t.Any, name: str) -> str:
    file_path = (
        str((loader or {}).get("file_path") or f"schemas/{name}.json") if isinstance(loader, dict) else f"schemas/{name}.json"
    )
    for form in ("{{ parameters.name }}", "{{parameters.name}}", "{{ parameters['name'] }}"):
        file_path = file_path.replace(form, name)
    return "schemas/" + file_path.rsplit("/", 1)[-1]


def _inline_named_schemas(node: t.Any, files: dict[str, bytes]) -> None:
    """Streams defined anywhere (definitions, parent streams) whose name is written on them."""
    if isinstance(node, dict):
        loader = node.get("schema_loader")
        if "retriever" in node and not (isinstance(loader, dict) and loader.get("type") == "InlineSchemaLoader"):
            name = node.get("name") or (node.get(resolve.PARAMETERS_KEY) or {}).get("name")
            file_name = _schema_file(loader, str(name)) if isinstance(name, str) else None
            if file_name in files:
                node["schema_loader"] = {"type": "InlineSchemaLoader", "schema": json.loads(files[file_name])}
        for value in node.values():
            _inline_named_schemas(value, files)
    elif isinstance(node, list):
        for item in node:
            _inline_named_schemas(item, files)


def component_manifest(name: str) -> dict[str, t.Any]:
    """A hand-written mini manifest of tests/airbyte/components/."""
    loaded = yaml.safe_load((COMPONENTS_DIR / f"{name}.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


# ---------------------------------------------------------------- the setup both sides share


@dataclasses.dataclass
class Setup:
    """One connector against one running mock: what the CDK (and later the tap) is given."""

    name: str
    manifest: dict[str, t.Any]  # URLs rewritten to the mock; give this to the CDK and to the tap
    config: dict[str, t.Any]  # the connector config (the tap's `manifest_config`)
    catalog: dict[str, t.Any]  # an Airbyte configured catalog: every stream, incremental where it can be
    api: mockapi.MockApi
    now: datetime.datetime
    start: datetime.datetime


def setup(
    name: str,
    raw_manifest: dict[str, t.Any],
    server: mockapi.MockServer,
    *,
    now: datetime.datetime = FROZEN_NOW,
    override: dict[str, t.Any] | None = None,
) -> Setup:
    """Rewrite the manifest to the server, generate the config, and load the mock API into the server."""
    override = override if override is not None else connector_config.overrides(name)
    start = datetime.datetime.fromisoformat(override["start"]) if "start" in override else DEFAULT_START
    manifest = mockapi.rewrite_urls(raw_manifest, server.base_url)
    loaded = resolve.load(manifest)
    spec = (loaded.get("spec") or {}) if isinstance(loaded.get("spec"), dict) else {}
    referenced = connector_config.referenced_keys(loaded)
    config = connector_config.generate(spec, start, referenced=referenced)
    for key in mockapi.config_url_keys(loaded):
        if not isinstance(config.get(key), (dict, list)):  # an object holds the URL deeper (`config['region']['url']`)
            config[key] = f"{server.base_url}/{key}"
    properties = (spec.get("connection_specification") or {}).get("properties") or {}
    for key, fmt in _start_date_formats(loaded).items():
        if key in config and isinstance(config[key], str):
            # As the cursor parses it, when the spec's pattern (the CDK validates the config) allows it.
            text = timefmt.format_datetime(start, fmt)
            pattern = (properties.get(key) or {}).get("pattern")
            if not isinstance(pattern, str) or re.search(pattern, text):
                config[key] = text
    config = connector_config.deep_merge(config, _with_base(override.get("config", {}), server.base_url))
    # A URL in the config (a spec default such as an API's address) points at the mock too.
    config = mockapi.rewrite_urls(config, server.base_url)
    faults = [mockapi.Fault.from_dict(f) for f in override.get("faults", [])]
    api = mockapi.MockApi(
        loaded,
        config,
        base_url=server.base_url,
        now=now,
        start=start,
        faults=faults,
        single_object_streams=override.get("single_object_streams", ()),
    )
    server.api = api
    only = override.get("streams")
    return Setup(name, manifest, config, configured_catalog(loaded, only), api, now, start)


_CONFIG_ONLY = re.compile(
    r"^\s*\{\{\s*config(?:\[\s*['\"]([^'\"]+)['\"]\s*\]|\.get\(\s*['\"]([^'\"]+)['\"][^)]*\)|\.([A-Za-z_]\w*))\s*\}\}\s*$"
)


def _start_date_formats(loaded: dict[str, t.Any]) -> dict[str, str]:
    """Config keys a DatetimeBasedCursor starts from (`{{ config['start_date'] }}`), with the format it reads them in."""
    formats: dict[str, str] = {}
    for _path, component in resolve.walk(loaded):
        if component["type"] != "DatetimeBasedCursor":
            continue
        start = component.get("start_datetime")
        text, fmt = (start.get("datetime"), start.get("datetime_format")) if isinstance(start, dict) else (start, None)
        match = _CONFIG_ONLY.match(str(text or ""))
        fmt = fmt or component.get("datetime_format")
        if match and isinstance(fmt, str) and "{{" not in fmt:
            formats.setdefault(next(g for g in match.groups() if g), fmt)
    return formats


def _with_base(value: t.Any, base_url: str) -> t.Any:
    """Override values may say `{mock}` for the mock's base URL."""
    if isinstance(value, str):
        return value.replace("{mock}", base_url)
    if isinstance(value, dict):
        return {k: _with_base(v, base_url) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_base(v, base_url) for v in value]
    return value


def configured_catalog(loaded: dict[str, t.Any], only: list[str] | None = None) -> dict[str, t.Any]:
    entries = []
    for stream in resolve.streams(loaded):
        name = str(stream.get("name") or "")
        if only is not None and name not in only:
            continue
        loader = stream.get("schema_loader") or {}
        schema = loader.get("schema") if isinstance(loader.get("schema"), dict) else {"type": "object", "properties": {}}
        incremental = isinstance(stream.get("incremental_sync"), dict)
        entry: dict[str, t.Any] = {
            "stream": {
                "name": name,
                "json_schema": schema,
                "supported_sync_modes": ["full_refresh", "incremental"] if incremental else ["full_refresh"],
            },
            "sync_mode": "incremental" if incremental else "full_refresh",
            "destination_sync_mode": "append",
        }
        entries.append(entry)
    return {"streams": entries}


# ---------------------------------------------------------------- reading the CDK's output


@dataclasses.dataclass
class RunOutput:
    records: dict[str, list[dict[str, t.Any]]]
    state: list[dict[str, t.Any]]  # the last STATE message per stream, in the order first seen
    errors: list[str]
    controls: list[dict[str, t.Any]]


def read_messages(lines: t.Iterable[str]) -> RunOutput:
    records: dict[str, list[dict[str, t.Any]]] = {}
    states: dict[str, dict[str, t.Any]] = {}
    errors: list[str] = []
    controls: list[dict[str, t.Any]] = []
    for raw_line in lines:
        line = raw_line.strip()
        if not line.startswith("{"):
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        kind = message.get("type")
        if kind == "RECORD":
            record = message["record"]
            records.setdefault(record["stream"], []).append(record["data"])
        elif kind == "STATE":
            state = {k: v for k, v in message["state"].items() if k != "sourceStats"}  # counts since the previous STATE: timing
            descriptor = (state.get("stream") or {}).get("stream_descriptor") or {}
            states[str(descriptor.get("name", state.get("type", "")))] = state
        elif kind == "TRACE" and message["trace"].get("type") == "ERROR":
            errors.append(str(message["trace"]["error"].get("message", "")))
        elif kind == "LOG" and message["log"].get("level") in {"ERROR", "FATAL"}:
            errors.append(str(message["log"].get("message", "")).split("\n", 1)[0])
        elif kind == "CONTROL":
            control = copy.deepcopy(message["control"])
            # The CDK echoes the whole manifest inside the updated config: kept out of the goldens.
            ((control.get("connectorConfig") or {}).get("config") or {}).pop("__injected_declarative_manifest", None)
            controls.append(control)
    return RunOutput(records, list(states.values()), errors, controls)


def normalise(value: t.Any, base_url: str) -> t.Any:
    """The mock's port replaced by a fixed host, so that goldens do not depend on the port."""
    text = json.dumps(value)
    text = text.replace(base_url, MOCK_HOST)
    return json.loads(_PORTED_BASE.sub(MOCK_HOST, text))


def canonical_requests(api: mockapi.MockApi) -> list[dict[str, t.Any]]:
    """The requests the mock saw, sorted (the CDK sends partitions from several threads)."""
    logged = [r.as_dict() for r in api.requests]
    return sorted(logged, key=lambda r: json.dumps(r, sort_keys=True))


def ordered_streams(loaded: dict[str, t.Any]) -> list[str]:
    """Streams read as one sequence of pages (no partitions, no step windows): their record order is
    deterministic. The others are read partition by partition on several threads by the CDK."""
    names = []
    for stream in resolve.streams(loaded):
        retriever = stream.get("retriever") or {}
        cursor = stream.get("incremental_sync") or {}
        if not retriever.get("partition_router") and not (isinstance(cursor, dict) and cursor.get("step")):
            names.append(str(stream.get("name") or ""))
    return names


# ---------------------------------------------------------------- golden files


def golden_path(name: str) -> pathlib.Path:
    return GOLDENS_DIR / f"{name}.json"


def load_golden(name: str) -> dict[str, t.Any]:
    loaded = json.loads(golden_path(name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def write_golden(name: str, golden: dict[str, t.Any], directory: pathlib.Path = GOLDENS_DIR) -> pathlib.Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(dumps(golden) + "\n")
    return path


def dumps(value: t.Any, indent: str = "") -> str:
    """JSON with one line per record, request or state message (a list of objects puts each on its own line)."""
    inner = indent + " "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {dumps(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        if not all(_is_leaf(v) for v in value):
            return "[\n" + ",\n".join(inner + dumps(v, inner) for v in value) + "\n" + indent + "]"
        items = [inner + json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False)


def _is_list_of_objects(value: t.Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _is_leaf(item: dict[str, t.Any]) -> bool:
    """A record, request or state message (one line), not a run holding lists of them."""
    return not any(
        _is_list_of_objects(v) or (isinstance(v, dict) and any(_is_list_of_objects(x) for x in v.values())) for v in item.values()
    )


# ---------------------------------------------------------------- the comparison


@dataclasses.dataclass
class StreamDiff:
    stream: str
    missing: list[dict[str, t.Any]]  # in the golden, not (or fewer times) in the tap's output
    unexpected: list[dict[str, t.Any]]  # in the tap's output, not (or more times) in the golden
    same_order: bool

    @property
    def same_records(self) -> bool:
        return not self.missing and not self.unexpected


@dataclasses.dataclass
class Comparison:
    streams: dict[str, StreamDiff]

    @property
    def same_records(self) -> bool:
        """Every stream has the golden's records, as many times each (a multiset), in any order."""
        return all(d.same_records for d in self.streams.values())

    def same_order(self, streams: t.Iterable[str] | None = None) -> bool:
        """Those streams (all by default) also have them in the golden's order."""
        names = self.streams if streams is None else streams
        return all(self.streams[n].same_order for n in names if n in self.streams)

    def report(self, limit: int = 3) -> str:
        lines = []
        for name, diff in sorted(self.streams.items()):
            if diff.same_records and diff.same_order:
                continue
            lines.append(
                f"{name}: {len(diff.missing)} missing, {len(diff.unexpected)} unexpected, "
                f"order {'same' if diff.same_order else 'differs'}"
            )
            lines += [f"  missing    {json.dumps(r, sort_keys=True)}" for r in diff.missing[:limit]]
            lines += [f"  unexpected {json.dumps(r, sort_keys=True)}" for r in diff.unexpected[:limit]]
        return "\n".join(lines) or "same records, same order"


def _key(record: dict[str, t.Any]) -> str:
    return json.dumps(record, sort_keys=True)


def compare(actual: dict[str, list[dict[str, t.Any]]], golden: dict[str, list[dict[str, t.Any]]]) -> Comparison:
    """The tap's records per stream against a golden run's, as multisets and in order (both reported).

    A stream absent on one side counts as empty there. Records compare as JSON text with sorted keys:
    exact values (1, 1.0 and "1" all differ, as they would in the Singer output), keys in any order.
    """
    diffs = {}
    for stream in sorted(set(actual) | set(golden)):
        mine = [json.loads(json.dumps(r)) for r in actual.get(stream, [])]
        theirs = golden.get(stream, [])
        mine_keys, their_keys = Counter(map(_key, mine)), Counter(map(_key, theirs))
        missing_keys, unexpected_keys = their_keys - mine_keys, mine_keys - their_keys
        missing = [json.loads(k) for k in missing_keys.elements()]
        unexpected = [json.loads(k) for k in unexpected_keys.elements()]
        diffs[stream] = StreamDiff(stream, missing, unexpected, [_key(r) for r in mine] == [_key(r) for r in theirs])
    return Comparison(diffs)


def golden_records(golden: dict[str, t.Any], run: int) -> dict[str, list[dict[str, t.Any]]]:
    """A golden's records per stream for run 1 or 2."""
    records = golden["runs"][run - 1]["records"]
    return copy.deepcopy(records)


# ---------------------------------------------------------------- the harness for the tap


def golden_setup(name: str, server: mockapi.MockServer) -> Setup:
    """The setup a golden file was made with, against a new mock API on `server`.

    Give the tap `setup.manifest` (write it to a file for `source_file`) and `setup.config` (its
    `manifest_config`), with TAP_RESTGENERIC_TEST_NOW set to `now_text(setup.now)`; then compare its
    records with `compare(records, golden_records(load_golden(name), 1))`. The mock answers the tap as
    it answered the CDK: same manifest, same config, same frozen "now", same data.
    """
    golden = load_golden(name)
    source = golden["source"]
    raw = prepare_pinned(manifests.pin_by_name(name)) if "pypi" in source else component_manifest(name)
    now = datetime.datetime.fromisoformat(golden["frozen_now"].replace("Z", "+00:00"))
    return setup(name, raw, server, now=now)


def tap_environment(prepared: Setup) -> dict[str, str]:
    """The environment variables a tap run against a golden needs (the frozen "now")."""
    return {NOW_ENV: now_text(prepared.now)}


def seen_requests(setup: Setup, server: mockapi.MockServer) -> list[str]:
    """What the mock saw, each request as text with its query in name order (the CDK puts an authenticator's
    query parameter first, the tap last: the same request)."""
    found = []
    for request in normalise(canonical_requests(setup.api), server.base_url):
        found.append(json.dumps({**request, "query": sorted(request["query"] or [])}, sort_keys=True))
    return sorted(found)


def golden_requests(golden: dict, run: int) -> list[str]:
    """The requests the CDK sent in run 1 or 2, as :func:`seen_requests` writes them."""
    return sorted(
        json.dumps({**r, "query": sorted(r["query"] or [])}, sort_keys=True) for r in golden["runs"][run - 1]["requests"]
    )
