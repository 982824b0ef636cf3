"""Every figure the README's Speed section quotes, in one run (about 4 minutes on 2 cores).

    .venv/bin/python benchmarks/all.py

bench.py (the bare loop and the tap at no latency and at 20 ms, end to end into DuckDB), whole.py
(every preset whole and a 500-parent fan-out at 0, 50 and 200 ms per response), then
meltano_split.py with RECORD messages and with BATCH messages (needs `meltano install` once).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = (("bench.py", ["--runs", "5"]), ("whole.py", []), ("meltano_split.py", []), ("meltano_split.py", ["--batch"]))


def main() -> None:
    for script, args in RUNS:
        print(" ".join(["\n$ python benchmarks/" + script, *args]), flush=True)
        subprocess.run([sys.executable, str(HERE / script), *args], check=True)


if __name__ == "__main__":
    main()
