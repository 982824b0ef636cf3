"""The ``certifications`` API (seed 001): records under ``data.<resource>``, paged by ``page``/``per_page``.

Bearer-token authentication; ``per_page`` is capped at :data:`CERTIFICATIONS_MAX_PER_PAGE`. Some
records nest objects (``registrations.user``) and arrays of objects (``users.custom_registration_field_values``).
"""

from __future__ import annotations

from tap_restgeneric.sandbox.fields import (
    CITIES,
    EPOCH_2023,
    FIRST_NAMES,
    LAST_NAMES,
    NOUNS,
    S_BOOL,
    S_DATE,
    S_DT,
    S_INT,
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
    iso_date,
    mix,
    nulls_every,
    pick,
    s_array_of,
    s_object,
    title,
)

CERTIFICATIONS_MAX_PER_PAGE = 100
_C = EPOCH_2023 + 30 * 86400


def _cert(path: str, key: str, count: int, *fields: Field) -> Endpoint:
    return Endpoint(path, count, (int_id_field(), *fields), data_key=key)


def _reg_completed(i: int) -> bool:
    return i % 2 == 1


CERTIFICATIONS = ApiSpec(
    "certifications",
    ("bearer", ""),
    "page_per_page",
    "data.<resource>",
    {
        "awarded_certifications": _cert(
            "/v1/awarded_certifications",
            "awarded_certifications",
            101,
            fld("name", S_STR, lambda i: f"{pick(NOUNS, i, 200)} Practitioner"),
            fld("description", S_STR, lambda i: f"Awarded for completing {pick(NOUNS, i, 200).lower()}", nulls_every(5, 4)),
            fld("user_id", S_INT, lambda i: 1 + mix(i, 201) % 250),
            fld("user_name", S_STR, lambda i: full_name(1 + mix(i, 201) % 250, 260)),
            fld("user_email", S_STR, lambda i: email_for(1 + mix(i, 201) % 250, "example.org", 260)),
            fld("awarded_at", S_DT, lambda i: iso(_C + i * 5400)),
        ),
        "certifications": _cert(
            "/v1/certifications",
            "certifications",
            100,
            fld("name", S_STR, lambda i: f"{title(i, 210)} Certificate"),
            fld("description", S_STR, lambda i: f"Certificate {i}", nulls_every(7, 3)),
            fld("created_at", S_DT, lambda i: iso(_C + i * 86400)),
            fld("awarded_by_name", S_STR, lambda i: full_name(i, 212), nulls_every(4, 0)),
            fld("awarded_by_title", S_STR, lambda i: pick(["Director", "Lead Trainer", "Dean"], i, 213), nulls_every(4, 0)),
        ),
        "paths_users": _cert("/v1/paths_users", "paths_users", 0),
        "registrations": _cert(
            "/v1/registrations",
            "registrations",
            1,
            fld("completed_at", S_DT, lambda i: iso(_C + i * 7200 + 3600), lambda i: not _reg_completed(i)),
            fld("is_completed", S_BOOL, _reg_completed),
            fld("completion_percentage", S_NUM, lambda i: 100.0 if _reg_completed(i) else float(mix(i, 220) % 100)),
            fld("score", S_NUM, lambda i: float(50 + mix(i, 221) % 51), lambda i: not _reg_completed(i)),
            fld("due_at", S_DT, lambda i: iso(_C + i * 7200 + 30 * 86400)),
            fld("due_date", S_DATE, lambda i: iso_date(_C + i * 7200 + 30 * 86400)),
            fld(
                "pass_status",
                S_STR,
                lambda i: "passed" if 50 + mix(i, 221) % 51 >= 70 else "failed",
                lambda i: not _reg_completed(i),
            ),
            fld("created_at", S_DT, lambda i: iso(_C + i * 7200)),
            fld(
                "user",
                s_object({"id": S_INT, "email": S_STR}),
                lambda i: {"id": 1 + mix(i, 223) % 250, "email": email_for(1 + mix(i, 223) % 250, "example.org", 260)},
            ),
            fld(
                "content",
                s_object({"id": S_INT, "type": S_STR, "name": S_STR}),
                lambda i: {
                    "id": 1 + mix(i, 224) % 42,
                    "type": pick(["course", "path", "event"], 1 + mix(i, 224) % 42, 230),
                    "name": title(1 + mix(i, 224) % 42, 231),
                },
            ),
        ),
        "trainings": _cert(
            "/v1/trainings",
            "trainings",
            42,
            fld("type", S_STR, lambda i: pick(["course", "path", "event"], i, 230)),
            fld("name", S_STR, lambda i: title(i, 231)),
            fld("created_at", S_DT, lambda i: iso(_C + i * 43200), nulls_every(10, 9)),
        ),
        "users": _cert(
            "/v1/users",
            "users",
            250,
            fld("email", S_STR, lambda i: email_for(i, "example.org", 260)),
            fld(
                "segments",
                S_STR_ARRAY,
                lambda i: [pick(["staff", "partner", "customer", "trial"], i, 261 + k) for k in range(i % 3)],
            ),
            fld("display_name", S_STR, lambda i: full_name(i, 260), nulls_every(9, 8)),
            fld("first_name", S_STR, lambda i: pick(FIRST_NAMES, i, 260)),
            fld("last_name", S_STR, lambda i: pick(LAST_NAMES, i, 261), nulls_every(11, 10)),
            fld("created_at", S_DT, lambda i: iso(_C + i * 1800)),
            fld(
                "custom_registration_field_values",
                s_array_of({"field": S_STR, "value": S_STR}),
                lambda i: [
                    {"field": "department", "value": pick(NOUNS, i, 270)},
                    {"field": "city", "value": pick(CITIES, i, 271)},
                ][: i % 3],
            ),
        ),
    },
)
