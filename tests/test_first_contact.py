"""What a user meets first: the Quickstart as written, the demo's port check, git-ignored secrets."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

from tap_restgeneric.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parent.parent


def quickstart_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return re.search(r"\n## Quickstart.*?(?=\n## )", readme, re.DOTALL).group(0)


def test_the_quickstart_runs_as_written_and_its_state_step_shows_the_bookmarks(tmp_path):
    """Every command of the README's Quickstart but the first (which starts the sandbox: here, one of the test's own,
    since the Quickstart changes its data), on the sandbox's port; what it says state.json holds is what it holds,
    and the next run reads the incremental streams from those bookmarks: only the records the API changed."""
    section = quickstart_section()
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    first, script = block.split("\n", 1)
    assert first.startswith(".venv/bin/restgeneric-sandbox --port 8765 --secret sandbox-secret &")
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    with SandboxServer(secret="sandbox-secret") as sandbox:
        proc = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script.replace("http://127.0.0.1:8765", sandbox.url)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    shown_state = re.search(r"```json\n(.*?)\n```", section, re.DOTALL).group(1)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state == json.loads(shown_state)
    assert proc.stdout.splitlines()[0] == (tmp_path / "state.json").read_text().strip()  # what `cat state.json` prints
    shown_curl = re.search(r"`curl` prints\n`(.*?)`", section).group(1)
    assert json.loads(proc.stdout.splitlines()[1]) == json.loads(shown_curl)
    assert state["bookmarks"]["registrations_incremental"]["replication_key_value"] == "2024-01-07T22:41:00Z"

    messages = [json.loads(line) for line in (tmp_path / "next.jsonl").read_text().splitlines()]
    changed = {
        stream: sorted(m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream)
        for stream in ("registrations_incremental", "sessions_incremental")
    }
    assert changed == {
        "registrations_incremental": [5, 10, 10002, 10003, 10004],
        "sessions_incremental": [5, 10, 10001, 10002, 10003],
    }
    shown_log = re.search(r"and stderr says\n\n```\n(.*?)\n```", section, re.DOTALL).group(1).splitlines()
    said = [line.split("| ")[-1] for line in proc.stderr.splitlines()]
    for shown in shown_log:
        pattern = re.escape(shown).replace(re.escape("0.0 s"), r"\d+\.\d s")
        assert any(re.fullmatch(pattern, line) for line in said), shown
    assert messages[-1]["type"] == "STATE"
    assert messages[-1]["value"]["bookmarks"]["registrations_incremental"]["replication_key_value"] > "2024-01-07T22:41:00Z"


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
