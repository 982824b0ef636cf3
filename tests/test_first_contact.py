"""What a user meets first: the Quickstart as written, the demo's port check, git-ignored secrets."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

from tests.support import CANARY

ROOT = Path(__file__).resolve().parent.parent


def quickstart_commands() -> list[str]:
    block = re.search(r"## Quickstart.*?```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL).group(1)
    joined = block.replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.startswith((".venv/bin/tap-restgeneric", "grep "))]


def test_the_quickstart_runs_as_written(sandbox, tmp_path):
    config = {"api": "incidents", "base_url": sandbox.base_url("incidents"), "secrets": {"api_token": CANARY}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    commands = quickstart_commands()
    assert len(commands) == 4 and commands[-1].startswith(".venv/bin/tap-restgeneric --config config.json --state state.json")
    for command in commands:
        proc = subprocess.run(
            ["bash", "-c", f"set -o pipefail; {command}"], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, f"{command}\n{proc.stderr[-1500:]}"
    state = json.loads((tmp_path / "state.json").read_text())
    assert "bookmarks" in state
    records = [json.loads(line) for line in (tmp_path / "next.jsonl").read_text().splitlines()]
    assert any(m["type"] == "STATE" for m in records)


def test_the_demo_refuses_a_port_something_else_listens_on():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        proc = subprocess.run(
            ["bash", "scripts/demo.sh"],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "SANDBOX_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"demo: something is already listening on 127.0.0.1:{port}; stop it, or run SANDBOX_PORT=<free port> bash scripts/demo.sh"
    )


def test_the_quickstarts_files_are_git_ignored():
    names = ["config.json", "state.json", "catalog.json", "out.jsonl", ".env"]
    proc = subprocess.run(["git", "check-ignore", *names], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout.split() == names


def test_an_unreadable_catalog_or_state_file_is_named(sandbox, tmp_path):
    from tests.support import last_line, preset_config, run_cli

    (tmp_path / "empty.json").write_text("")
    out = run_cli(["--catalog", str(tmp_path / "empty.json")], preset_config(sandbox, "learning"), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        f"tap-restgeneric: config error: --catalog {tmp_path / 'empty.json'}: not a readable JSON file "
        "(JSONDecodeError: Expecting value: line 1 column 1 (char 0))"
    )
    (tmp_path / "list.json").write_text("[]")
    out = run_cli(["--state", str(tmp_path / "list.json")], preset_config(sandbox, "learning"), tmp_path)
    assert (
        last_line(out.stderr)
        == f"tap-restgeneric: config error: --state {tmp_path / 'list.json'}: expected a JSON object, got list"
    )
