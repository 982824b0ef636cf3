"""Where the real manifests come from: pinned PyPI wheels (downloaded into a git-ignored cache and
checked against their sha256) or a local checkout of Airbyte's repository. Airbyte's manifests are
Airbyte's code: they are read from there at test time, never copied into this repository."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import pathlib
import subprocess
import typing as t
import urllib.request
import zipfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
PINS_FILE = pathlib.Path(__file__).with_name("pinned_manifests.json")
CACHE_DIR = ROOT / ".cache" / "airbyte-manifests"
CONNECTORS_PREFIX = "airbyte-integrations/connectors/"


class PinError(RuntimeError):
    """A pinned wheel that cannot be had as pinned (wrong hash, no manifest inside)."""


@dataclasses.dataclass(frozen=True)
class Pin:
    """One real connector's manifest, as shipped in one exact wheel on PyPI."""

    name: str  # the connector, as in Airbyte's repository: source-<name>
    package: str
    version: str
    url: str
    sha256: str
    member: str  # the manifest's path inside the wheel
    streams: int = 0
    manifest_version: str = ""  # the CDK version the manifest was written for
    components: tuple[str, ...] = ()  # what it exercises (tests/airbyte/census.py names)

    @property
    def wheel_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def load_pins(path: pathlib.Path = PINS_FILE) -> list[Pin]:
    entries = json.loads(path.read_text())["manifests"]
    return [Pin(**{**entry, "components": tuple(entry.get("components", ()))}) for entry in entries]


def pin_by_name(name: str, path: pathlib.Path = PINS_FILE) -> Pin:
    for pin in load_pins(path):
        if pin.name == name:
            return pin
    raise KeyError(f"no pinned manifest named {name!r} in {path.name}")


def _download(url: str, timeout: float = 60.0) -> bytes:
    if not url.startswith("https://"):
        raise PinError(f"refusing to download {url}: pinned wheels come from https URLs only")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - https only, checked above
        return response.read()


def wheel_bytes(pin: Pin, cache_dir: pathlib.Path = CACHE_DIR, fetch: t.Callable[[str], bytes] = _download) -> bytes:
    """The pinned wheel, from the cache or downloaded into it; its sha256 is checked either way."""
    cached = cache_dir / pin.wheel_name
    if cached.exists():
        data = cached.read_bytes()
        if hashlib.sha256(data).hexdigest() == pin.sha256:
            return data
        cached.unlink()  # a corrupt or tampered cache entry is fetched again, never trusted
    data = fetch(pin.url)
    digest = hashlib.sha256(data).hexdigest()
    if digest != pin.sha256:
        raise PinError(f"{pin.wheel_name}: sha256 {digest} differs from the pinned {pin.sha256}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".part{os.getpid()}")
    partial.write_bytes(data)
    partial.replace(cached)
    return data


def manifest_text(pin: Pin, cache_dir: pathlib.Path = CACHE_DIR, fetch: t.Callable[[str], bytes] = _download) -> str:
    """The manifest.yaml the pinned wheel ships."""
    with zipfile.ZipFile(io.BytesIO(wheel_bytes(pin, cache_dir, fetch))) as wheel:
        try:
            return wheel.read(pin.member).decode()
        except KeyError:
            raise PinError(f"{pin.wheel_name} has no {pin.member}") from None


def manifest(pin: Pin, cache_dir: pathlib.Path = CACHE_DIR) -> dict[str, t.Any]:
    loaded = yaml.safe_load(manifest_text(pin, cache_dir))
    assert isinstance(loaded, dict), f"{pin.name}: the manifest is not a mapping"
    return loaded


@dataclasses.dataclass(frozen=True)
class CheckoutManifest:
    name: str
    text: str
    has_components_py: bool


def checkout_manifests(repo: pathlib.Path, rev: str = "HEAD") -> tuple[str, list[CheckoutManifest]]:
    """Every `connectors/source-*/manifest.yaml` of a checkout of Airbyte's repository (a work tree or a
    bare git directory, read with git at `rev`), with the commit it was read at."""
    if (repo / CONNECTORS_PREFIX).is_dir() and not (repo / "HEAD").is_file():
        return _worktree_manifests(repo)
    git = ["git", "-C", str(repo)]
    commit = subprocess.run([*git, "rev-parse", rev], check=True, capture_output=True, text=True).stdout.strip()
    listing = subprocess.run(
        [*git, "ls-tree", "-r", "--name-only", commit, CONNECTORS_PREFIX], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    manifests, components = _connector_files(listing)
    paths = [f"{commit}:{CONNECTORS_PREFIX}source-{name}/manifest.yaml" for name in manifests]
    batch = subprocess.run([*git, "cat-file", "--batch"], input="\n".join(paths).encode(), check=True, capture_output=True).stdout
    texts: list[str] = []
    position = 0
    for _ in paths:
        header_end = batch.index(b"\n", position)
        size = int(batch[position:header_end].split()[2])
        texts.append(batch[header_end + 1 : header_end + 1 + size].decode())
        position = header_end + 1 + size + 1
    return commit, [CheckoutManifest(n, text, n in components) for n, text in zip(manifests, texts, strict=True)]


def _connector_files(listing: list[str]) -> tuple[list[str], set[str]]:
    manifests: list[str] = []
    components: set[str] = set()
    for path in listing:
        parts = path[len(CONNECTORS_PREFIX) :].split("/")
        if len(parts) != 2 or not parts[0].startswith("source-"):
            continue
        name = parts[0].removeprefix("source-")
        if parts[1] == "manifest.yaml":
            manifests.append(name)
        elif parts[1] == "components.py":
            components.add(name)
    return sorted(manifests), components


def _worktree_manifests(repo: pathlib.Path) -> tuple[str, list[CheckoutManifest]]:
    base = repo / CONNECTORS_PREFIX
    listing = [str(p.relative_to(repo)) for p in base.glob("source-*/*") if p.name in {"manifest.yaml", "components.py"}]
    manifests, components = _connector_files(listing)
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "(not a git checkout)"
    return commit, [CheckoutManifest(n, (base / f"source-{n}" / "manifest.yaml").read_text(), n in components) for n in manifests]
