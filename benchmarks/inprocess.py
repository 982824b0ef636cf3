"""One sync of the tap in this process, its output kept in memory (the benchmarks' common step)."""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tap_restgeneric.tap import TapRestGeneric


def sync_lines(config: dict) -> tuple[float, list[str]]:
    """(wall seconds, the Singer lines written) of one sync with ``config``."""
    buffer = io.BytesIO()
    wrapper = io.TextIOWrapper(buffer, encoding="utf-8", write_through=True)
    started = time.perf_counter()
    with contextlib.redirect_stdout(wrapper):
        TapRestGeneric(config=config, parse_env_config=False).sync_all()
    seconds = time.perf_counter() - started
    wrapper.flush()
    return seconds, buffer.getvalue().decode().splitlines()
