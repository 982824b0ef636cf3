"""The corpus census: Airbyte's manifest-only connectors, what they use, and how many the tap accepts.

    .venv/bin/python scripts/airbyte/corpus_report.py --airbyte-repo /path/to/airbyte [--rev HEAD] [--json out.json]

PATH is a checkout of Airbyte's public repository, either a work tree or a bare git directory (read
with git, nothing is extracted). Lists every `airbyte-integrations/connectors/source-*/manifest.yaml`,
which of them ship a `components.py` (Python the tap can never run), and counts, by manifests using
each, the components (every `type` once `$ref`s are resolved, plus the types the CDK implies) and the
interpolation macros. Counts are given for the connectors without `components.py` and for all.

The accepted figure needs the translator: `tap_restgeneric.airbyte.unsupported_components(manifest)`,
given the parsed manifest (a dict), returns the names of the components it cannot run (empty: accepted).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import sys
import typing as t
from collections import Counter

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tests.airbyte import census, manifests, resolve

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _accepting_function() -> t.Callable[[dict[str, t.Any]], list[str]] | None:
    try:
        module = importlib.import_module("tap_restgeneric.airbyte")
    except ModuleNotFoundError as error:
        if error.name not in {"tap_restgeneric.airbyte", "tap_restgeneric"}:
            raise
        return None
    function = getattr(module, "unsupported_components", None)
    return function if callable(function) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--airbyte-repo", required=True, type=pathlib.Path, help="checkout of Airbyte's repository (work tree or bare git)"
    )
    parser.add_argument("--rev", default="HEAD", help="revision to read in a git checkout (default HEAD)")
    parser.add_argument("--top", type=int, default=60, help="components to list (default 60)")
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures to this file")
    parser.add_argument("--list", action="store_true", help="list every connector with its verdict")
    args = parser.parse_args(argv)

    commit, found = manifests.checkout_manifests(args.airbyte_repo, args.rev)
    pure = [m for m in found if not m.has_components_py]
    print(f"Airbyte checkout {args.airbyte_repo} at commit {commit}")
    print(f"manifest-only connectors: {len(found)}; with components.py: {len(found) - len(pure)}; without: {len(pure)}")

    features: dict[str, set[str]] = {}
    used_macros: dict[str, set[str]] = {}
    unreadable: dict[str, str] = {}
    loaded_by_name: dict[str, dict[str, t.Any]] = {}
    streams = streams_all = 0
    for item in found:
        try:
            raw = yaml.load(item.text, Loader=Loader)  # noqa: S506 - the C safe loader
            loaded = resolve.load(raw)
        except (yaml.YAMLError, resolve.ManifestError, TypeError, AttributeError) as error:
            unreadable[item.name] = f"{type(error).__name__}: {error}"[:160]
            continue
        loaded_by_name[item.name] = raw
        features[item.name] = census.features(loaded)
        used_macros[item.name] = census.macros(item.text)
        streams_all += census.stream_count(loaded)
        if not item.has_components_py:
            streams += census.stream_count(loaded)
    pure_names = {m.name for m in pure}
    print(f"streams (static `streams` lists): {streams} without components.py, {streams_all} in all")
    for name, why in sorted(unreadable.items()):
        print(f"unreadable: {name}: {why}")

    counts_pure = census.tally(v for k, v in features.items() if k in pure_names)
    counts_all = census.tally(features.values())
    macros_pure = census.tally(v for k, v in used_macros.items() if k in pure_names)
    macros_all = census.tally(used_macros.values())
    print(f"\ncomponents by manifests using them (without components.py: {len(pure)} / all: {len(found)})")
    for name, count in counts_pure.most_common(args.top):
        print(f"  {count:4d} {counts_all[name]:4d}  {name}")
    print("\nmacros and filters by manifests using them")
    for name, count in macros_pure.most_common():
        print(f"  {count:4d} {macros_all[name]:4d}  {name}")

    report: dict[str, t.Any] = {
        "commit": commit,
        "connectors": len(found),
        "with_components_py": len(found) - len(pure),
        "without_components_py": len(pure),
        "streams_without_components_py": streams,
        "streams_all": streams_all,
        "components_without_components_py": dict(counts_pure.most_common()),
        "components_all": dict(counts_all.most_common()),
        "macros_without_components_py": dict(macros_pure.most_common()),
        "macros_all": dict(macros_all.most_common()),
        "unreadable": unreadable,
    }

    unsupported_components = _accepting_function()
    if unsupported_components is None:
        print(
            "\naccepted: not measured - tap_restgeneric.airbyte.unsupported_components does not exist yet "
            "(the manifest translator is not written); this census lists what the corpus needs"
        )
    else:
        missing: Counter[str] = Counter()
        verdicts: dict[str, list[str]] = {}
        for item in pure:
            raw_manifest = loaded_by_name.get(item.name)
            refused = sorted(set(unsupported_components(raw_manifest))) if raw_manifest is not None else ["(unreadable)"]
            verdicts[item.name] = refused
            missing.update(refused)
        accepted = sum(1 for refused in verdicts.values() if not refused)
        print(f"\naccepted: {accepted} of {len(pure)} without components.py ({100 * accepted / max(len(pure), 1):.1f}%)")
        print("missing components, by refused manifests needing each:")
        for name, count in missing.most_common():
            print(f"  {count:4d}  {name}")
        if args.list:
            for name, refused in sorted(verdicts.items()):
                print(f"  {name}: {'accepted' if not refused else 'refused: ' + ', '.join(refused)}")
        report["accepted"] = accepted
        report["missing"] = dict(missing.most_common())
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
