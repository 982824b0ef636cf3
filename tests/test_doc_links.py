"""The documents a user reads link only to what exists: every `](#anchor)` is a heading of its file (as GitHub
names headings), every relative link is a file of the repository (and its `#anchor` a heading there), and no
link or path leaves the repository (a clone has nothing beside it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    "README.md",
    "CONTRIBUTING.md",
    "docs/BENCHMARKS.md",
    "docs/DESIGN.md",
    "loaders/target-duckdb-exact/README.md",
    "tests/airbyte/README.md",
]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """The text outside fenced code blocks (a `# comment` in a bash block is not a heading)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (hyphens and underscores kept), spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    names = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(path.read_text()), re.MULTILINE):
        name = anchor(heading)
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.add(name if count == 0 else f"{name}-{count}")
    return names


def tracked(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    out = subprocess.run(["git", "ls-files", "--error-unmatch", relative], cwd=ROOT, capture_output=True, check=False)
    return out.returncode == 0 or (path.is_dir() and any(tracked(child) for child in path.iterdir()))


def test_anchor_names_headings_as_github_does():
    assert anchor("Why the DuckDB loader is `target-duckdb-exact`") == "why-the-duckdb-loader-is-target-duckdb-exact"
    assert anchor("The source config: dlt's dialect") == "the-source-config-dlts-dialect"
    assert anchor("Parent/child resources") == "parentchild-resources"
    assert anchor("Dependencies: `uv.lock`") == "dependencies-uvlock"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_link_resolves_inside_the_repository(document):
    path = ROOT / document
    problems = []
    for target in LINK.findall(prose(path.read_text())):
        if re.match(r"[a-z]+://", target):
            continue
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repository")
        elif not linked.exists() or not tracked(linked):
            problems.append(f"{target}: no such file in the repository")
        elif fragment and fragment not in anchors(linked):
            problems.append(f"{target}: no heading with that anchor in {linked.relative_to(ROOT)}")
    assert problems == []


@pytest.mark.parametrize("document", DOCUMENTS)
def test_no_document_points_outside_the_repository(document):
    assert re.findall(r"\.\./shared|/work/", (ROOT / document).read_text()) == []
