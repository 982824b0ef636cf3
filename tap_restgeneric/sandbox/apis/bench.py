"""The ``bench`` API (not a preset): one large ``/v1/items`` endpoint for throughput benchmarks.

Its records are computed on demand by :func:`bench_record` (the count is set per server), served
under ``data`` by ``offset``/``limit`` (capped at :data:`BENCH_MAX_LIMIT`).
"""

from __future__ import annotations

from tap_restgeneric.sandbox.fields import CITIES, EPOCH_2023, TAGS, ApiSpec, Endpoint, iso

BENCH_MAX_LIMIT = 1000


def bench_record(i: int) -> dict:
    """Record ``i`` (1-based) of the bench items endpoint: 9 fields."""
    return {
        "id": i,
        "name": f"item-{i}",
        "email": f"user{i}@bench.example.com",
        "created_at": iso(EPOCH_2023 + i * 37),
        "amount": round((i * 7919 % 1000000) / 100.0, 2),
        "quantity": i % 97,
        "active": i % 3 != 0,
        "tags": [TAGS[i % 8], TAGS[(i // 8) % 8]],
        "address": {"city": CITIES[i % 8], "zip": f"{10000 + i % 90000:05d}"},
    }


BENCH = ApiSpec(
    "bench",
    ("header", "api_key"),
    "bench",
    "data",
    {
        "items": Endpoint("/v1/items", 0, ()),  # count set per server (bench_records)
    },
)
