"""Pin real connector manifests from PyPI: for each `airbyte-source-<name>` given, find its wheel (the
newest release, or `name==version`), download it once, check that it ships `source_<name>/manifest.yaml`
and no Python components, and print (or merge into tests/airbyte/pinned_manifests.json with --write)
its entry: version, wheel URL, sha256, manifest member and the components it exercises.

    .venv/bin/python scripts/airbyte/pin_manifests.py aircall close-com==0.5.30 [--write]

A dev tool for choosing the corpus; the tests only read the pinned list (tests/airbyte/manifests.py).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import pathlib
import sys
import typing as t
import urllib.request
import zipfile

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tests.airbyte import census, manifests, resolve


def _json(url: str) -> t.Any:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)


def pin(spec: str) -> tuple[dict[str, t.Any] | None, str]:
    name, _, version = spec.partition("==")
    package = f"airbyte-source-{name}"
    meta = _json(f"https://pypi.org/pypi/{package}/{version}/json" if version else f"https://pypi.org/pypi/{package}/json")
    version = meta["info"]["version"]
    wheels = [f for f in meta["urls"] if f["packagetype"] == "bdist_wheel" and f["filename"].endswith("py3-none-any.whl")]
    if not wheels:
        return None, f"{package}=={version}: no pure-Python wheel"
    wheel = wheels[0]
    cached = manifests.CACHE_DIR / wheel["filename"]
    data = cached.read_bytes() if cached.exists() else manifests._download(wheel["url"])  # noqa: SLF001
    digest = hashlib.sha256(data).hexdigest()
    if digest != wheel["digests"]["sha256"]:
        return None, f"{package}=={version}: sha256 mismatch with PyPI's"
    manifests.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(data)
    module = f"source_{name.replace('-', '_')}"
    member = f"{module}/manifest.yaml"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        if member not in names:
            return None, f"{package}=={version}: no {member}"
        text = archive.read(member).decode()
    python = sorted(
        n for n in names if n.startswith(f"{module}/") and n.endswith(".py") and not n.endswith(("__init__.py", "run.py"))
    )
    loaded = resolve.load(yaml.safe_load(text))
    used = census.features(loaded)
    custom = sorted(u for u in used if u.startswith("Custom"))
    if custom:
        return None, f"{package}=={version}: uses {', '.join(custom)} ({', '.join(python)})"
    entry = {
        "name": name,
        "package": package,
        "version": version,
        "url": wheel["url"],
        "sha256": digest,
        "member": member,
        "streams": census.stream_count(loaded),
        "manifest_version": str(yaml.safe_load(text).get("version", "")),
        "components": sorted(used),
    }
    note = f"{package}=={version}: {entry['streams']} streams, manifest version {entry['manifest_version']}"
    if python:
        note += f" (also ships {', '.join(python)}, unused by the manifest)"
    return entry, note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("connectors", nargs="+", help="connector names (source-<name> without the prefix), optionally ==version")
    parser.add_argument("--write", action="store_true", help="merge the entries into tests/airbyte/pinned_manifests.json")
    args = parser.parse_args(argv)
    entries = []
    for spec in args.connectors:
        try:
            entry, note = pin(spec)
        except OSError as error:
            entry, note = None, f"{spec}: {error}"
        print(("pinned  " if entry else "skipped ") + note)
        if entry:
            entries.append(entry)
    if args.write:
        path = manifests.PINS_FILE
        current = json.loads(path.read_text()) if path.exists() else {"manifests": []}
        by_name = {e["name"]: e for e in current["manifests"]}
        by_name.update({e["name"]: e for e in entries})
        current["manifests"] = sorted(by_name.values(), key=lambda e: e["name"])
        path.write_text(json.dumps(current, indent=1) + "\n")
    else:
        print(json.dumps(entries, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
