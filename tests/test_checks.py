"""scripts/check.sh lints every Python file git tracks: an exclude that hides one fails the check."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_check_fails_naming_the_files_an_exclude_hides_from_ruff(tmp_path):
    for name in ("pyproject.toml", "scripts/check.sh", "tap_restgeneric/__init__.py", "tap_restgeneric/output/writer.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    pyproject = (tmp_path / "pyproject.toml").read_text()
    assert '"/output"]' in pyproject
    # The exclude as it was: meant for the demo's output/ folder, it also matched tap_restgeneric/output/.
    (tmp_path / "pyproject.toml").write_text(pyproject.replace('"/output"]', '"output"]'))
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / ".gitignore").write_text(".venv\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    proc = subprocess.run(["bash", "scripts/check.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr == (
        "check: ruff skips these files tracked by git (see extend-exclude in pyproject.toml):\ntap_restgeneric/output/writer.py\n"
    )
