"""Time and peak memory of templates and config files that try to exhaust the machine (issue 20),
one process each.

Each template attack is evaluated as a config template would be (``tap_restgeneric.templates.Template``),
and the config attack (a YAML "billion laughs": 10**9 strings once its aliases are expanded, in an
endpoint's params) is a sync through the CLI, each in a child process capped at 3 GB of address
space and 60 s; the figures are the child's wall time, its peak RSS and the first words of its
outcome. Run before and after a change:

    .venv/bin/python benchmarks/template_attacks.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ATTACKS = {
    "indent of a long text": "{{ ('x\\n' * 400000) | indent(1000) }}",
    "many wide format fields": "{{ ('%999999s' * 100) % ((1,) * 100) }}",
    "wide str.format fields": "{{ ('{:>999999}' * 100).format(*((1,) * 100)) }}",
    "nested list rendered as text": "a{{ [['x' * 1000] * 1000] * 1000 }}",
    "nested list joined": "{{ ([['x' * 1000] * 1000] * 1000) | join }}",
    "nested list as JSON": "{{ ([['x' * 1000] * 1000] * 1000) | tojson }}",
    "nested list concatenated": "{{ '' ~ [['x' * 1000] * 1000] * 1000 }}",
    "wordwrap of a long word": "{{ ('a' * 999999) | wordwrap(1) }}",
    "wordwrap of long text": "{{ ('ab ' * 300000) | wordwrap(5) }}",
    "urlize of long text": "{{ ('x ' * 490000) | urlize }}",
    "many outputs of a long text": "{{ 'x' * 999999 }}" * 200,
    "native list of shared lists": "{{ [['x' * 1000] * 1000] * 1000 }}",
    # under the list-repetition bound (15 MB as text), then turned into text:
    "15 MB of shared lists as text": "a{{ [['x' * 1000] * 1000] * 15 }}",
    "15 MB of shared lists joined": "{{ ([['x' * 1000] * 1000] * 15) | join }}",
    "15 MB of shared lists as JSON": "{{ ([['x' * 1000] * 1000] * 15) | tojson }}",
    "15 MB of shared lists concatenated": "{{ '' ~ [['x' * 1000] * 1000] * 15 }}",
    # within every size bound, slow in the filter's own loop:
    "wordwrap of a 400k-character word": "{{ ('a' * 400000) | wordwrap(1) }}",
}

CLI_CHILD = """
import resource, sys
from tap_restgeneric.cli import main
try:
    main()
except BaseException as exc:
    if not isinstance(exc, SystemExit):
        sys.stderr.write(type(exc).__name__ + "\\n")
sys.stdout.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024) + " ")
"""


def laughs(directory: Path) -> Path:
    """A source file whose params hold 10 lists of 10 aliases of the level before, 9 levels deep."""
    lines = ["client: {base_url: 'http://127.0.0.1:9'}", "resources:", "  - name: items", "    endpoint:"]
    lines += ["      path: items", "      paginator: single_page", "      params:"]
    lines += ["        a0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"        a{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 10)]
    (directory / "laughs.yaml").write_text("\n".join(lines) + "\n")
    config = directory / "config.json"
    config.write_text(json.dumps({"source_file": str(directory / "laughs.yaml")}))
    return config


CHILD = """
import resource, sys
from tap_restgeneric.templates import Template
try:
    result = Template(sys.argv[1], "params.q", {"config"})({"config": {}})
    outcome = "ok, " + str(len(result)) + " long"
except BaseException as exc:
    outcome = (str(exc) or type(exc).__name__)[:110]
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, outcome)
"""


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def run(name: str, argv: list[str]) -> None:
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, preexec_fn=limit_memory)
        lines = done.stderr.strip().splitlines() or [""]
        peak, _, outcome = (done.stdout.strip().splitlines() or ["- "])[-1].partition(" ")
        outcome = outcome or lines[-1]
    except subprocess.TimeoutExpired:
        peak, outcome = "-", "killed after 60 s"
    seconds = time.perf_counter() - started
    print(f"{name:36} {seconds:8.2f} {peak:>8}  {outcome[:110]}", flush=True)


def main() -> None:
    print(f"{'attack':36} {'seconds':>8} {'peak MB':>8}  outcome")
    for name, template in ATTACKS.items():
        run(name, [sys.executable, "-c", CHILD, template])
    with tempfile.TemporaryDirectory() as directory:
        run("billion laughs source_file (CLI)", [sys.executable, "-c", CLI_CHILD, "--config", str(laughs(Path(directory)))])


if __name__ == "__main__":
    main()
