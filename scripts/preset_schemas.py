"""The preset schemas (``schemas/<api>/<resource>.json``), generated from the sandbox's field lists.

The sandbox serves each preset resource from a list of typed fields (``tap_restgeneric/sandbox``);
that list is the one source of both the served records and the shipped schema. This script writes
the schemas from it, or checks that the shipped ones match (CI runs ``--check``):

    .venv/bin/python scripts/preset_schemas.py --check    # exit 1 and name each file that differs
    .venv/bin/python scripts/preset_schemas.py --write    # rewrite schemas/ from the sandbox
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tap_restgeneric.sandbox import data
from tap_restgeneric.source import PRESETS, load_source

ROOT = Path(__file__).resolve().parent.parent


def expected_files() -> dict[Path, str]:
    """Every preset resource's schema file and its text, as the sandbox defines it."""
    files = {}
    for api in PRESETS:
        source = load_source({"api": api, "secrets": {"api_key": "x", "api_token": "x"}})
        for resource in source.resources:
            schema = data.schema_for(api, resource["name"])
            files[ROOT / "schemas" / api / f"{resource['name']}.json"] = json.dumps(schema, indent=2) + "\n"
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 if a shipped schema differs from the sandbox's")
    mode.add_argument("--write", action="store_true", help="write the schemas from the sandbox")
    args = parser.parse_args()
    expected = expected_files()
    shipped = set((ROOT / "schemas").glob("*/*.json"))
    if args.write:
        for path, text in expected.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        for path in shipped - set(expected):
            path.unlink()
        print(f"wrote {len(expected)} schemas")
        return 0
    problems = [f"{path.relative_to(ROOT)}: missing" for path in expected if not path.is_file()]
    problems += [f"{path.relative_to(ROOT)}: not a preset resource" for path in sorted(shipped - set(expected))]
    problems += [
        f"{path.relative_to(ROOT)}: differs from the sandbox (run scripts/preset_schemas.py --write)"
        for path, text in expected.items()
        if path.is_file() and json.loads(path.read_text()) != json.loads(text)
    ]
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{len(expected)} preset schemas match the sandbox")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
