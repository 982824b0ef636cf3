"""The reference: a bare requests loop over the same offset-paginated endpoint.

requests.Session + json parse + one JSON line per record to stdout (the benchmark
sends stdout to /dev/null). usage: bare_loop.py BASE_URL SECRET PAGE_SIZE
"""

import json
import sys

import requests


def main() -> None:
    base_url, secret, page_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    session = requests.Session()
    session.headers["api_key"] = secret
    write = sys.stdout.write
    offset = 0
    while True:
        response = session.get(f"{base_url}/v1/items", params={"offset": offset, "limit": page_size}, timeout=60)
        response.raise_for_status()
        records = json.loads(response.content)["data"]
        for record in records:
            write(json.dumps(record) + "\n")
        if len(records) < page_size:
            break
        offset += page_size


if __name__ == "__main__":
    main()
