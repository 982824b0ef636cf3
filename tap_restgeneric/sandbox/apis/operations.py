"""The ``operations`` API (seed 004): single-page master data and two transactional endpoints.

Header ``api_key`` authentication, records under ``data``. The transactional endpoints
(:data:`REGISTRATIONS`, :data:`SESSIONS`) page by ``offset``/``limit`` (capped at
:data:`TRANSACTIONAL_MAX_LIMIT`), filter on ``updated_since`` and change on ``DataStore.advance``;
:func:`initial_updated_at` gives their records' first ``updated_at``.
"""

from __future__ import annotations

from collections.abc import Callable

from tap_restgeneric.sandbox.fields import (
    ADJECTIVES,
    CITIES,
    COLORS,
    EPOCH_2023,
    EPOCH_2024,
    NOUNS,
    S_BOOL,
    S_DT,
    S_INT,
    S_INT_ARRAY,
    S_NUM,
    S_STR,
    S_STR_ARRAY,
    ApiSpec,
    Endpoint,
    Field,
    email_for,
    fld,
    full_name,
    int_id_field,
    iso,
    mix,
    money,
    nulls_every,
    pick,
)

TRANSACTIONAL_MAX_LIMIT = 10000
_O = EPOCH_2023 + 100 * 86400


def _master(path: str, count: int, salt: int, name: Callable[[int], str], *extra: Field) -> Endpoint:
    fields = (
        int_id_field(),
        fld("name", S_STR, name),
        fld("createdTimestamp", S_DT, lambda i: iso(_O + salt * 86400 + i * 3600)),
        *extra,
    )
    return Endpoint(path, count, fields)


def initial_updated_at(i: int) -> int:
    """Initial updated_at of transactional record ``i``: 2024-01-01 + i minutes."""
    return EPOCH_2024 + i * 60


REGISTRATIONS = Endpoint(
    "/v1/transactional/registrations",
    10001,
    (
        int_id_field(),
        fld("created_at", S_DT, lambda i: iso(initial_updated_at(i))),
        fld("updated_at", S_DT, lambda i: iso(initial_updated_at(i))),
        fld("worker_id", S_INT, lambda i: 1 + mix(i, 500) % 45),
        fld("task_id", S_INT, lambda i: 1 + mix(i, 501) % 80),
        fld("quantity", S_NUM, lambda i: round((mix(i, 502) % 5000) / 10.0, 1), nulls_every(50, 17)),
        fld("unit", S_STR, lambda i: pick(["kg", "crate", "piece", "tray"], i, 503)),
    ),
    transactional=True,
)


SESSIONS = Endpoint(
    "/v1/transactional/sessions",
    10000,
    (
        int_id_field(),
        fld("created_at", S_DT, lambda i: iso(initial_updated_at(i))),
        fld("updated_at", S_DT, lambda i: iso(initial_updated_at(i))),
        fld("worker_id", S_INT, lambda i: 1 + mix(i, 510) % 45),
        fld("location_id", S_INT, lambda i: 1 + mix(i, 511) % 12, nulls_every(40, 9)),
        fld("started_at", S_DT, lambda i: iso(initial_updated_at(i) - 60 * (30 + mix(i, 512) % 240))),
        fld("ended_at", S_DT, lambda i: iso(initial_updated_at(i)), nulls_every(20, 13)),
        fld("duration_minutes", S_NUM, lambda i: float(30 + mix(i, 512) % 240), nulls_every(20, 13)),
    ),
    transactional=True,
)


OPERATIONS = ApiSpec(
    "operations",
    ("header", "api_key"),
    "operations",
    "data",
    {
        "clients": _master(
            "/v1/master/client",
            1,
            1,
            lambda i: f"Client {i}",
            fld("code", S_STR, lambda i: f"CL{i:03d}"),
            fld("active", S_BOOL, lambda i: True),
            fld("timezone", S_STR, lambda i: "Europe/Amsterdam", nulls_every(2, 0)),
        ),
        "locations": _master(
            "/v1/master/locations",
            12,
            2,
            lambda i: f"{pick(CITIES, i, 600)} site {i}",
            fld("code", S_STR, lambda i: f"LOC{i:03d}"),
            fld("latitude", S_NUM, lambda i: round(-60 + (mix(i, 601) % 12000) / 100.0, 2), nulls_every(6, 5)),
            fld("longitude", S_NUM, lambda i: round(-170 + (mix(i, 602) % 34000) / 100.0, 2), nulls_every(6, 5)),
            fld("active", S_BOOL, lambda i: i % 5 != 0),
        ),
        "rows": _master(
            "/v1/master/rows",
            0,
            3,
            lambda i: f"Row {i}",
            fld("location_id", S_INT, lambda i: 1 + i % 12),
            fld("position", S_INT, lambda i: i),
        ),
        "users": _master(
            "/v1/master/users",
            30,
            4,
            lambda i: full_name(i, 620),
            fld("email", S_STR, lambda i: email_for(i, "ops.example.com", 620), nulls_every(10, 7)),
            fld("role", S_STR, lambda i: pick(["manager", "supervisor", "viewer"], i, 621)),
            fld("active", S_BOOL, lambda i: i % 7 != 0),
        ),
        "workers": _master(
            "/v1/master/workers",
            45,
            5,
            lambda i: full_name(i, 630),
            fld("code", S_STR, lambda i: f"W{i:04d}"),
            fld("worker_group_id", S_INT, lambda i: 1 + i % 4, nulls_every(9, 8)),
            fld("active", S_BOOL, lambda i: i % 6 != 0),
            fld(
                "skills",
                S_STR_ARRAY,
                lambda i: sorted({pick(["picking", "packing", "pruning", "driving"], i, 631 + k) for k in range(1 + i % 3)}),
            ),
        ),
        "worker_groups": _master(
            "/v1/master/workergroups",
            4,
            6,
            lambda i: f"Crew {pick(COLORS, i, 640)} {i}",
            fld("description", S_STR, lambda i: f"Worker group {i}", nulls_every(2, 1)),
            fld("active", S_BOOL, lambda i: True),
        ),
        "tasks": _master(
            "/v1/master/tasks",
            80,
            7,
            lambda i: f"Task {i}",
            fld("code", S_STR, lambda i: f"T{i:04d}"),
            fld("task_group_id", S_INT, lambda i: 1 + i % 6),
            fld("unit", S_STR, lambda i: pick(["kg", "crate", "piece", "tray"], i, 650)),
            fld("rate", S_NUM, lambda i: money(i, 651, 1, 40), nulls_every(8, 3)),
        ),
        "task_groups": _master(
            "/v1/master/taskgroups",
            6,
            8,
            lambda i: f"Task group {i}",
            fld("description", S_STR, lambda i: f"{pick(NOUNS, i, 660)} tasks", nulls_every(3, 2)),
            fld("active", S_BOOL, lambda i: i != 6),
        ),
        "labels": _master(
            "/v1/master/labels",
            9,
            9,
            lambda i: f"Label {i}",
            fld("color", S_STR, lambda i: pick(COLORS, i, 670), nulls_every(4, 2)),
            fld("active", S_BOOL, lambda i: i % 4 != 0),
        ),
        "varieties": _master(
            "/v1/master/varieties",
            15,
            10,
            lambda i: f"Variety {pick(ADJECTIVES, i, 680)} {i}",
            fld("code", S_STR, lambda i: f"V{i:03d}"),
            fld("description", S_STR, lambda i: f"Variety number {i}", nulls_every(5, 1)),
            fld("label_ids", S_INT_ARRAY, lambda i: [1 + (i + k) % 9 for k in range(i % 3)]),
        ),
        "registrations": REGISTRATIONS,
        "sessions": SESSIONS,
    },
)
