"""The tap's output, pinned: every preset and examples/tracker.yaml synced through the CLI from a
fresh sandbox, and a second, incremental run of each incremental source from the first run's STATE,
compared with the golden files beside this test.

What is compared is stdout byte for byte, with two normalisations only: ``time_extracted`` (the
clock) and the sandbox's port. A golden file holds every SCHEMA and STATE line as written and, for
each run of consecutive RECORD lines of one stream, their count and the SHA-256 of their bytes
(the presets' records run to 11 MB): a difference names the message or the run of records where
the output first changed. ``GOLDEN_UPDATE=1`` rewrites the files (only ever on purpose: a change
of output is a change of behaviour, said in the commit that makes it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tap_restgeneric.source import PRESETS
from tests.support import CANARY, PRESET_SECRET_NAME, run_cli

if TYPE_CHECKING:
    from tap_restgeneric.sandbox import SandboxServer

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent.parent / "examples" / "tracker.yaml"
_TIME_EXTRACTED = re.compile(rb'"time_extracted":"[^"]*"')
#: Comments added between the tracker's two runs, by issue number: new records of some parents.
NEW_COMMENTS_ON = (1, 2, 7, 7, 10)


def condensed(stdout: bytes, sandbox: SandboxServer) -> str:
    """The golden form of a run's stdout (see the module docstring)."""
    text = _TIME_EXTRACTED.sub(b'"time_extracted":"(normalised)"', stdout)
    text = text.replace(f"127.0.0.1:{sandbox.port}".encode(), b"(sandbox)")
    lines: list[str] = []
    run: tuple[str, int, hashlib._Hash] | None = None

    def close_run() -> None:
        if run is not None:
            lines.append(f"RECORDS {run[0]} x{run[1]} sha256:{run[2].hexdigest()}")

    for line in text.splitlines(keepends=True):
        if line.startswith(b'{"type":"RECORD"'):
            stream = json.loads(line)["stream"]
            if run is None or run[0] != stream:
                close_run()
                run = (stream, 0, hashlib.sha256())
            run[2].update(line)
            run = (run[0], run[1] + 1, run[2])
        else:
            close_run()
            run = None
            lines.append(line.decode().rstrip("\n"))
    close_run()
    return "\n".join(lines) + "\n"


def check(name: str, actual: str, tmp_path: Path) -> None:
    golden = HERE / f"{name}.golden"
    if os.environ.get("GOLDEN_UPDATE"):
        golden.write_text(actual)
    expected = golden.read_text()
    if actual != expected:
        (tmp_path / f"{name}.actual").write_text(actual)
        first = next(
            (i for i, (a, b) in enumerate(zip(actual.splitlines(), expected.splitlines(), strict=False)) if a != b),
            min(len(actual.splitlines()), len(expected.splitlines())),
        )
        pytest.fail(
            f"{name}: output differs from {golden.name} at line {first + 1} (the whole output: {tmp_path / (name + '.actual')})\n"
            f"expected: {expected.splitlines()[first : first + 1]}\nactual:   {actual.splitlines()[first : first + 1]}"
        )


def cli_sync(config: dict, tmp_path: Path, state: dict | None = None) -> bytes:
    args = []
    if state is not None:
        path = tmp_path / "state.json"
        path.write_text(json.dumps(state))
        args = ["--state", str(path)]
    out = run_cli(args, config, tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.encode()  # type: ignore[attr-defined]


@pytest.mark.parametrize("api", PRESETS)
def test_every_preset_writes_what_it_wrote(fresh_sandbox, tmp_path, api):
    config = {"api": api, "base_url": fresh_sandbox.base_url(api), "secrets": {PRESET_SECRET_NAME.get(api, "api_key"): CANARY}}
    first = cli_sync(config, tmp_path)
    check(api, condensed(first, fresh_sandbox), tmp_path)


def test_an_incremental_preset_resumes_from_its_state_as_it_did(fresh_sandbox, tmp_path):
    config = {"api": "operations", "base_url": fresh_sandbox.base_url("operations"), "secrets": {"api_key": CANARY}}
    first = cli_sync(config, tmp_path)
    state = [json.loads(line)["value"] for line in first.splitlines() if line.startswith(b'{"type":"STATE"')][-1]
    fresh_sandbox.advance("operations")
    second = cli_sync(config, tmp_path, state)
    check("operations.second_run", condensed(second, fresh_sandbox), tmp_path)


def test_the_parent_child_example_and_its_second_run_write_what_they_wrote(fresh_sandbox, tmp_path):
    """examples/tracker.yaml: issues -> comments (incremental, a bookmark per issue) -> reactions;
    then new comments on some issues and a second run from the first run's last STATE."""
    config = {"source_file": str(EXAMPLE), "base_url": fresh_sandbox.base_url("tracker"), "secrets": {"api_key": CANARY}}
    first = cli_sync(config, tmp_path)
    check("tracker", condensed(first, fresh_sandbox), tmp_path)
    state = [json.loads(line)["value"] for line in first.splitlines() if line.startswith(b'{"type":"STATE"')][-1]
    for number in NEW_COMMENTS_ON:
        fresh_sandbox.tracker.comment_on(number)
    second = cli_sync(config, tmp_path, state)
    check("tracker.second_run", condensed(second, fresh_sandbox), tmp_path)
