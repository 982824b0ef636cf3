"""Settings -> the raw source config: a bundled preset, an inline config or a file.

Also the dlt shorthands (a resource given as a name, an endpoint as a path, a paginator as a
type name) expanded to the full form, keeping list positions so that error paths still match
what the user wrote. The presets are the files in ``presets/``: their names are the one list
of presets, in the order of the seeds they come from (``seed NNN`` in each file's first line).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import typing as t
from importlib import resources as importlib_resources
from pathlib import Path

from typing_extensions import override

from tap_restgeneric.errors import NoSourceError, SourceConfigError

if t.TYPE_CHECKING:
    import yaml

    from tap_restgeneric.settings import Settings


def _package_file(name: str) -> t.Any:
    return importlib_resources.files("tap_restgeneric").joinpath(name)


def _presets() -> tuple[str, ...]:
    found = []
    for entry in _package_file("presets").iterdir():
        if entry.name.endswith(".yaml"):
            seed = re.search(r"seed (\d+)", entry.read_text().split("\n", 1)[0])
            found.append((int(seed.group(1)) if seed else 999, entry.name.removesuffix(".yaml")))
    return tuple(name for _, name in sorted(found))


#: The bundled presets (``presets/<name>.yaml``), in seed order.
PRESETS = _presets()


def preset_path(api: str) -> t.Any:
    return _package_file(f"presets/{api}.yaml")


def schemas_dir() -> Path:
    """``schemas/`` (top level of the repo; packaged as ``tap_restgeneric/schemas``)."""
    packaged = Path(str(_package_file("schemas")))
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent.parent / "schemas"


def preset_schema(api: str, resource: str) -> dict | None:
    """``schemas/<api>/<resource>.json`` of a bundled preset, if there is one."""
    path = schemas_dir() / api / f"{resource}.json"
    return json.loads(path.read_text()) if path.is_file() else None


@dataclasses.dataclass(frozen=True)
class Invocation:
    """How the tap was started, as far as reading the source cares: the folder a relative
    ``source_file`` is found in, and the plugin's name when Meltano started it (Meltano runs a
    plugin in the directory it was called from, which may be below the project root)."""

    root: Path
    meltano_plugin: str | None = None

    @classmethod
    def from_environment(cls, environ: t.Mapping[str, str]) -> Invocation:
        """``MELTANO_PROJECT_ROOT`` (and ``MELTANO_EXTRACTOR_NAME``) are set by Meltano in a plugin's environment."""
        project = environ.get("MELTANO_PROJECT_ROOT")
        if project:
            return cls(Path(project), environ.get("MELTANO_EXTRACTOR_NAME") or "tap-restgeneric")
        return cls(Path.cwd())

    def file(self, written: str) -> Path:
        return self.root / Path(written).expanduser()

    @property
    def root_name(self) -> str:
        return "the Meltano project root" if self.meltano_plugin else "the current directory"

    @property
    def no_source_example(self) -> str:
        if self.meltano_plugin:
            return f"e.g. `meltano config set {self.meltano_plugin} api learning`"
        return 'e.g. {"api": "learning"} or {"source_file": "my_api.yaml"} in the --config file'


def raw_source(settings: Settings, invocation: Invocation | None = None) -> tuple[str, t.Any]:
    """(name, config as written) of the source the settings name; dlt shorthands expanded."""
    name, raw = _read(settings, invocation or Invocation(Path.cwd()))
    return name, expand_shorthands(raw) if isinstance(raw, dict) else raw


def _read(settings: Settings, invocation: Invocation) -> tuple[str, t.Any]:
    given = {"api": settings.api, "source": settings.source, "source_file": settings.source_file}
    chosen = [key for key, value in given.items() if value not in (None, "", {})]
    if not chosen:
        raise NoSourceError(
            [
                (
                    "no source: set exactly one of the settings `api` (a preset: "
                    f"{', '.join(PRESETS)}), `source` (an inline config) or `source_file` (a YAML or JSON file), "
                    f"{invocation.no_source_example}"
                )
            ]
        )
    if len(chosen) > 1:
        raise SourceConfigError(
            [f"settings {' and '.join(f'`{k}`' for k in chosen)} are both set: set exactly one of `api`, `source`, `source_file`"]
        )
    key = chosen[0]
    value = given[key]
    if key == "api":
        if value not in PRESETS:
            raise SourceConfigError([f"api: {value!r} is not one of {', '.join(PRESETS)}"])
        return value, _load_yaml(preset_path(value).read_text())
    if key == "source":
        if isinstance(value, str):  # e.g. from an environment variable
            try:
                value = _load_yaml(value)
            except _yaml_error() as exc:
                raise SourceConfigError([f"source: not valid JSON or YAML: {_yaml_problem(exc)}"]) from None
            except ConfigTooLarge as exc:
                raise SourceConfigError([f"source: {exc}"]) from None
        problem = nesting_problem(value)
        if problem:
            raise SourceConfigError([f"source: {problem}"])
        return "custom", value
    path = invocation.file(str(value))  # an absolute path stays as it is
    if not path.is_file():
        relative = "" if Path(str(value)).expanduser().is_absolute() else f" ({value}, relative to {invocation.root_name})"
        raise SourceConfigError([f"source_file: no such file '{path}'{relative}"])
    try:
        return path.stem, _load_yaml(path.read_text())
    except _yaml_error() as exc:
        raise SourceConfigError([f"source_file: '{path}' is not valid YAML or JSON: {_yaml_problem(exc)}"]) from None
    except ConfigTooLarge as exc:
        raise SourceConfigError([f"source_file: '{path}': {exc}"]) from None


#: Levels of nesting a config document (YAML or JSON: a source, a settings, state or catalog file)
#: may have: deeper, Python's recursion runs out in the tap or its libraries.
MAX_CONFIG_DEPTH = 100
#: Values a YAML document may stand for once its aliases are expanded (a "billion laughs" document
#: of a few lines stands for 10**9; the largest real config has a few thousand).
MAX_CONFIG_NODES = 1_000_000


class ConfigTooLarge(ValueError):
    """A config document nested too deeply, or whose aliases expand to too many values."""


def _load_yaml(text: str) -> t.Any:
    """YAML (or JSON) text -> data, within MAX_CONFIG_DEPTH and MAX_CONFIG_NODES (``ConfigTooLarge``).
    PyYAML is imported here, when a source is YAML text or a file: a source given as a JSON object
    (Meltano's and the benchmarks') starts 10 ms sooner."""
    import yaml  # noqa: PLC0415

    class BoundedLoader(yaml.SafeLoader):
        """PyYAML's safe loader, counting while it composes: the nesting depth, and the values each
        node stands for with its aliases expanded (an alias is the anchored node again, so it costs
        nothing to load, but everything that walks the data walks it once per alias)."""

        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.depth = 0
            self.sizes: dict[int, int] = {}

        @override
        def compose_node(self, parent: t.Any, index: t.Any) -> t.Any:
            self.depth += 1
            if self.depth > MAX_CONFIG_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigTooLarge(f"nested deeper than {MAX_CONFIG_DEPTH} levels at line {mark.line + 1}")
            node = super().compose_node(parent, index)
            self.depth -= 1
            if id(node) not in self.sizes:
                size = 1
                if isinstance(node, yaml.SequenceNode):
                    size += sum(self.sizes.get(id(item), 1) for item in node.value)
                elif isinstance(node, yaml.MappingNode):
                    size += sum(self.sizes.get(id(k), 1) + self.sizes.get(id(v), 1) for k, v in node.value)
                if size > MAX_CONFIG_NODES:
                    line = t.cast("yaml.Node", node).start_mark.line + 1
                    raise ConfigTooLarge(f"its aliases expand to more than {MAX_CONFIG_NODES:,} values (at line {line})")
                self.sizes[id(node)] = size
            return node

    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def nesting_problem(document: t.Any, limit: int = MAX_CONFIG_DEPTH) -> str | None:
    """Why a loaded JSON document is too deep for the tap (None: it is not); walked without recursion."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return f"nested deeper than {limit} levels"
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return None


def _yaml_error() -> type[yaml.YAMLError]:
    import yaml  # noqa: PLC0415

    return yaml.YAMLError


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def expand_shorthands(raw: dict) -> dict:
    """dlt shorthands -> full form, keeping list positions so error paths still match."""
    source = copy.deepcopy(raw)
    resources = source.get("resources")
    if isinstance(resources, list):
        for i, written in enumerate(resources):
            resource = {"name": resource_name(written), "endpoint": {"path": written}} if isinstance(written, str) else written
            resources[i] = resource
            if isinstance(resource, dict):
                _expand_endpoint(resource)
    defaults = source.get("resource_defaults")
    if isinstance(defaults, dict):
        _expand_endpoint(defaults)
    client = source.get("client")
    if isinstance(client, dict) and isinstance(client.get("paginator"), str):
        client["paginator"] = {"type": client["paginator"]}
    return source


def resource_name(path: str) -> str:
    """The name of a resource given as a bare path: dlt names it by the path, then its table
    by the path in snake case (``users/posts`` -> ``users_posts``), which is the Singer stream name."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", path).strip("_").lower() or "resource"
    return f"_{name}" if name[0].isdigit() else name


def _expand_endpoint(holder: dict) -> None:
    endpoint = holder.get("endpoint")
    if isinstance(endpoint, str):
        holder["endpoint"] = endpoint = {"path": endpoint}
    if isinstance(endpoint, dict) and isinstance(endpoint.get("paginator"), str):
        endpoint["paginator"] = {"type": endpoint["paginator"]}
