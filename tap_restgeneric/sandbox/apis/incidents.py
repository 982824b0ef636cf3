"""The ``incidents`` API (seed 003): string ids, records under ``data``, opaque-cursor paging.

Header ``api_key`` authentication; pages of :data:`INCIDENTS_PAGE_SIZE` records. Each endpoint
writes ``paging.next`` its own way (``Endpoint.next_form``: a full url, a path or a bare token).
"""

from __future__ import annotations

from collections.abc import Callable

from tap_restgeneric.sandbox.fields import (
    COLORS,
    EPOCH_2024,
    NOUNS,
    S_DT,
    S_STR,
    ApiSpec,
    Endpoint,
    Field,
    email_for,
    fld,
    full_name,
    iso,
    mix,
    nulls_every,
    pick,
)

INCIDENTS_PAGE_SIZE = 25
_I = EPOCH_2024 + 40 * 86400


def _inc_id(prefix: str) -> Callable[[int], str]:
    return lambda i: f"{prefix}{i:05d}"


def _incident_ep(
    prefix: str, path: str, count: int, next_form: str, salt: int, name: Callable[[int], str], *extra: Field
) -> Endpoint:
    fields = (
        Field("id", {"type": "string"}, _inc_id(prefix)),
        fld("name", S_STR, name),
        *extra,
        fld("created_at", S_DT, lambda i: iso(_I + salt * 86400 + i * 900)),
    )
    return Endpoint(path, count, fields, pk_type="string", next_form=next_form)


INCIDENTS = ApiSpec(
    "incidents",
    ("header", "api_key"),
    "cursor",
    "data",
    {
        "users": _incident_ep(
            "PUSR",
            "/v2/users",
            26,
            "url",
            1,
            lambda i: full_name(i, 400),
            fld("email", S_STR, lambda i: email_for(i, "oncall.example.com", 400)),
            fld("role", S_STR, lambda i: pick(["admin", "responder", "observer"], i, 401)),
            fld("time_zone", S_STR, lambda i: pick(["UTC", "Europe/Lisbon", "America/Chicago"], i, 402), nulls_every(5, 4)),
        ),
        "teams": _incident_ep(
            "PTEM",
            "/v2/teams",
            25,
            "path",
            2,
            lambda i: f"Team {pick(COLORS, i, 410)} {i}",
            fld("description", S_STR, lambda i: f"Owns {pick(NOUNS, i, 411).lower()} services", nulls_every(4, 1)),
        ),
        "services": _incident_ep(
            "PSVC",
            "/v1/services",
            0,
            "token",
            3,
            lambda i: f"service-{i}",
            fld("status", S_STR, lambda i: pick(["active", "warning", "critical", "disabled"], i, 420)),
            fld("team_id", S_STR, lambda i: _inc_id("PTEM")(1 + mix(i, 421) % 25)),
        ),
        "integrations": _incident_ep(
            "PINT",
            "/v2/integrations",
            1,
            "token",
            4,
            lambda i: f"integration-{i}",
            fld("type", S_STR, lambda i: pick(["email", "events_api", "webhook"], i, 430)),
            fld("service_id", S_STR, lambda i: _inc_id("PSVC")(1 + mix(i, 431) % 10), nulls_every(2, 0)),
        ),
        "incidents": _incident_ep(
            "PINC",
            "/v1/incidents",
            60,
            "path",
            5,
            lambda i: f"INC-{i}",
            fld("title", S_STR, lambda i: f"{pick(NOUNS, i, 440)} latency above threshold"),
            fld("status", S_STR, lambda i: pick(["triggered", "acknowledged", "resolved"], i, 441)),
            fld("urgency", S_STR, lambda i: pick(["high", "low"], i, 442), nulls_every(10, 3)),
            fld("service_id", S_STR, lambda i: _inc_id("PSVC")(1 + mix(i, 443) % 10)),
        ),
        "alerts": _incident_ep(
            "PALR",
            "/v2/alerts",
            75,
            "token",
            6,
            lambda i: f"alert-{i}",
            fld("incident_id", S_STR, lambda i: _inc_id("PINC")(1 + (i - 1) % 60), nulls_every(15, 14)),
            fld("severity", S_STR, lambda i: pick(["critical", "error", "warning", "info"], i, 450)),
        ),
    },
)
