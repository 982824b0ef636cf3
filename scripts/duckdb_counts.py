"""Print the row count of every table in a DuckDB file, optionally next to the sandbox's counts.

usage: python scripts/duckdb_counts.py FILE [--expected SANDBOX_URL]
Exits 1 when --expected is given and any preset table differs from what the sandbox serves.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request

import duckdb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--expected", metavar="SANDBOX_URL", help="compare with GET SANDBOX_URL/_sandbox/counts")
    args = parser.parse_args()
    expected = {}
    if args.expected:
        with urllib.request.urlopen(f"{args.expected}/_sandbox/counts", timeout=10) as response:
            expected = json.load(response)
    con = duckdb.connect(args.file, read_only=True)
    tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2").fetchall()
    mismatches = 0
    print(f"{'table':45} {'rows':>8} {'sandbox':>8}")
    for schema, table in tables:
        (rows,) = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0]
        want = expected.get(schema, {}).get(table)
        flag = "" if want is None or want == rows else "  MISMATCH"
        mismatches += bool(flag)
        print(f"{schema + '.' + table:45} {rows:>8} {'' if want is None else want:>8}{flag}")
    if expected:
        print("all tables match the sandbox" if not mismatches else f"{mismatches} table(s) differ from the sandbox")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
