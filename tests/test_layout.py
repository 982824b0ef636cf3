"""The package's shape: imports point one way, modules and classes stay small, each list has one source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tap_restgeneric.paging.paginators import PAGINATOR_ALIASES, PAGINATORS, paginator_options
from tap_restgeneric.source import PRESETS
from tap_restgeneric.source.validation import DIALECT_SCHEMA
from tap_restgeneric.transport.auth import AUTH_TYPES, SELECTIVE
from tap_restgeneric.transport.auth_configs import SelectiveAuth

PACKAGE = Path(__file__).resolve().parent.parent / "tap_restgeneric"
#: Lower layers never import higher ones (see CONTRIBUTING.md). The sandbox is a separate
#: program that may use the tap; nothing in the tap imports it.
LAYERS = {
    "tap_restgeneric": 0,
    "tap_restgeneric.errors": 0,
    "tap_restgeneric.schema_inference": 0,
    "tap_restgeneric.values": 0,
    "tap_restgeneric.schema_drift": 0,
    "tap_restgeneric.datetimes": 0,
    "tap_restgeneric.windows": 0,
    "tap_restgeneric.state": 0,
    "tap_restgeneric.template_names": 0,
    "tap_restgeneric.output": 1,
    # the typed settings, read by everything below the tap (they cut error text with output's excerpt)
    "tap_restgeneric.settings": 1.5,
    "tap_restgeneric.templates": 2,
    "tap_restgeneric.template_sandbox": 2,
    "tap_restgeneric.template_overseer": 2,
    "tap_restgeneric.transport": 3,
    "tap_restgeneric.paging": 4,
    "tap_restgeneric.scheduling": 4.5,
    # the source model sits above the engine's configurable parts (it is checked against their
    # registries: paginator types, auth types, response actions) and below the streams that run it
    "tap_restgeneric.source": 5,
    # Airbyte manifests are read here and translated into the same source model
    "tap_restgeneric.airbyte": 5.5,
    "tap_restgeneric.streams": 6,
    "tap_restgeneric.about": 7,
    "tap_restgeneric.tap": 7,
    "tap_restgeneric.doctor": 8,
    "tap_restgeneric.cli": 9,
    "tap_restgeneric.sandbox": 10,
}
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    return max((value, len(prefix)) for prefix, value in LAYERS.items() if module == prefix or module.startswith(prefix + "."))[0]


def runtime_imports(path: Path) -> set[str]:
    """The tap_restgeneric modules a module imports when it runs (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("tap_restgeneric")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("tap_restgeneric"):
                # `from package import module` imports the module, not (only) the package
                found |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names}
    return found


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@pytest.mark.parametrize("module", list(MODULES))
def test_imports_point_downwards_and_never_into_the_sandbox(module):
    for target in runtime_imports(MODULES[module]):
        assert layer(target) <= layer(module), f"{module} imports {target}, a higher layer"
        if target.startswith("tap_restgeneric.sandbox"):
            assert module.startswith("tap_restgeneric.sandbox"), f"{module} imports the sandbox"


def test_no_import_cycles():
    graph = {module: {t for t in runtime_imports(path) if t in MODULES and t != module} for module, path in MODULES.items()}
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        if state.get(module) == 1:
            pytest.fail(f"import cycle: {' -> '.join([*trail, module])}")
        if state.get(module) == 2:
            return
        state[module] = 1
        for target in graph[module]:
            visit(target, [*trail, module])
        state[module] = 2

    for module in graph:
        visit(module, [])


@pytest.mark.parametrize("module", list(MODULES))
def test_modules_and_classes_stay_small(module):
    source = MODULES[module].read_text()
    assert source.count("\n") <= MAX_MODULE_LINES, f"{module}: {source.count(chr(10))} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_CLASS_LINES, f"{module}.{node.name}: {length} lines"


def test_paginator_options_and_the_dialect_schema_agree():
    """The schema types every paginator option; the classes' __init__ say which type takes which."""
    properties = DIALECT_SCHEMA["$defs"]["paginator"]["properties"]
    options = set().union(*(paginator_options(kind) for kind in PAGINATORS))
    assert set(properties) - {"type"} == options
    assert properties["type"]["enum"] == [*PAGINATORS, *PAGINATOR_ALIASES]


def test_auth_types_and_the_dialect_schema_agree():
    auth = DIALECT_SCHEMA["$defs"]["auth"]["properties"]
    assert auth["type"]["enum"] == [*AUTH_TYPES, SELECTIVE]  # selective: resolved into one of them when read
    accepted = set().union(*(kind.accepted for kind in AUTH_TYPES.values()), set(SelectiveAuth.__annotations__))
    assert set(auth) - {"type"} <= accepted


def test_presets_are_the_files_in_presets_in_seed_order():
    files = {path.stem for path in (PACKAGE / "presets").glob("*.yaml")}
    assert set(PRESETS) == files
    seeds = [int((PACKAGE / "presets" / f"{name}.yaml").read_text().split("seed ", 1)[1][:3]) for name in PRESETS]
    assert seeds == sorted(seeds)


def _sources() -> dict[str, tuple[Path, ast.Module]]:
    return {
        name: (path, ast.parse(path.read_text()))
        for name, path in MODULES.items()
        if not name.startswith("tap_restgeneric.sandbox")
    }


def test_the_settings_are_read_in_one_place():
    """``Settings`` is built once from the config; nothing else reads the config (``config.get``)."""
    reading = re.compile(r"\b_?config\.get\(|\bconfig\[")
    for name, (path, _) in _sources().items():
        if name != "tap_restgeneric.settings":
            found = [line for line in path.read_text().splitlines() if reading.search(line)]
            assert not found, f"{name} reads the config: {found}"


def test_messages_about_a_stream_are_formatted_in_one_place():
    """No text starts with ``stream '…'`` written by hand: ``errors.stream_line`` (and ``StreamError``) make it."""
    for name, (_, tree) in _sources().items():
        if name == "tap_restgeneric.errors":
            continue
        for node in ast.walk(tree):
            first = node.values[0] if isinstance(node, ast.JoinedStr) and node.values else node
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("stream '"):
                pytest.fail(
                    f"{name}, line {node.lineno}: a hand-written 'stream ...' prefix: use errors.stream_line or StreamError"
                )


def test_one_sdk_stream_class_and_no_tower():
    """One class subclasses the SDK's stream; no class of ``streams/`` subclasses another of the package's,
    and none reaches into an attribute set elsewhere (``getattr(self, …)``) or leaves a stub to a subclass."""
    stream_classes = []
    package_classes = {node.name for _, tree in _sources().values() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    for name, (path, tree) in _sources().items():
        source = path.read_text()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(base) for base in node.bases}
                if bases & {"RESTStream", "Stream", "singer_sdk.RESTStream"}:
                    stream_classes.append(f"{name}.{node.name}")
                if name.startswith("tap_restgeneric.streams."):
                    assert not bases & package_classes, f"{name}.{node.name} subclasses {bases & package_classes}"
        if name.startswith("tap_restgeneric.streams."):
            assert "getattr(self" not in source, name
            assert "NotImplementedError" not in source, name
    assert stream_classes == ["tap_restgeneric.streams.stream.ResourceStream"]


def test_tests_live_in_folders_that_mirror_the_source():
    """``tests/<folder>/`` is for the package ``tap_restgeneric/<folder>/`` (``golden/``: whole runs through the CLI)."""
    tests = Path(__file__).resolve().parent
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    for folder in (path for path in tests.iterdir() if path.is_dir() and path.name != "__pycache__"):
        assert folder.name in packages | {"golden"}, f"tests/{folder.name}/ mirrors no package of tap_restgeneric"
        assert (folder / "__init__.py").is_file(), f"tests/{folder.name}/ needs an __init__.py"
    for package in ("transport", "paging", "scheduling", "streams", "source"):
        assert list((tests / package).glob("test_*.py")), f"tap_restgeneric/{package}/ has no tests/{package}/"
