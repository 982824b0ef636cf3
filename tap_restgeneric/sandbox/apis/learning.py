"""The ``learning`` API (seed 000): eleven page-numbered endpoints, records under ``items``.

Header ``api_key`` authentication; ``?page=N`` pages of :data:`LEARNING_PAGE_SIZE` records. Every
endpoint has an integer ``id``, a ``name`` and a ``created_at``, then its own fields.
"""

from __future__ import annotations

from collections.abc import Callable

from tap_restgeneric.sandbox.fields import (
    ADJECTIVES,
    COLORS,
    EPOCH_2023,
    EPOCH_2024,
    FIRST_NAMES,
    LAST_NAMES,
    NOUNS,
    S_BOOL,
    S_DT,
    S_INT,
    S_NUM,
    S_STR,
    ApiSpec,
    Endpoint,
    Field,
    created_field,
    email_for,
    fld,
    full_name,
    int_id_field,
    iso,
    mix,
    money,
    nulls_every,
    pick,
    title,
)

LEARNING_PAGE_SIZE = 250


def _learning(path: str, count: int, salt: int, name: Callable[[int], str], *extra: Field) -> Endpoint:
    base = EPOCH_2023 + salt * 86400
    fields = (int_id_field(), fld("name", S_STR, name), created_field(base, 3607), *extra)
    return Endpoint(path, count, fields)


LEARNING = ApiSpec(
    "learning",
    ("header", "api_key"),
    "page",
    "items",
    {
        "courses": _learning(
            "/v1/courses",
            0,
            1,
            lambda i: f"course-{i}",
            fld("title", S_STR, lambda i: title(i, 1)),
            fld("status", S_STR, lambda i: pick(["draft", "published", "archived"], i, 2)),
            fld("price", S_NUM, lambda i: money(i, 3), nulls_every(5, 2)),
        ),
        "users": _learning(
            "/v1/users",
            1,
            2,
            lambda i: full_name(i, 10),
            fld("email", S_STR, lambda i: email_for(i, "learners.example.com", 10)),
            fld("first_name", S_STR, lambda i: pick(FIRST_NAMES, i, 10)),
            fld("last_name", S_STR, lambda i: pick(LAST_NAMES, i, 11), nulls_every(4, 3)),
        ),
        "promotions": _learning(
            "/v1/promotions",
            250,
            3,
            lambda i: f"Promotion {i}",
            fld("code", S_STR, lambda i: f"PROMO{i:04d}"),
            fld("discount_percent", S_NUM, lambda i: float(5 * (1 + mix(i, 20) % 10))),
            fld("active", S_BOOL, lambda i: i % 3 != 0),
            fld("expires_at", S_DT, lambda i: iso(EPOCH_2024 + i * 86400), nulls_every(4, 1)),
        ),
        "categories": _learning(
            "/v1/collections",
            251,
            4,
            lambda i: f"{pick(NOUNS, i, 30)} collection {i}",
            fld("slug", S_STR, lambda i: f"{pick(NOUNS, i, 30).lower()}-{i}"),
            fld("description", S_STR, lambda i: f"Courses about {pick(NOUNS, i, 30).lower()}", nulls_every(6, 5)),
            fld("position", S_INT, lambda i: i),
        ),
        "reviews": _learning(
            "/v1/course_reviews",
            3,
            5,
            lambda i: f"Review {i}",
            fld("course_id", S_INT, lambda i: 1 + mix(i, 40) % 50),
            fld("user_id", S_INT, lambda i: 1 + mix(i, 41) % 500),
            fld("rating", S_INT, lambda i: 1 + mix(i, 42) % 5),
            fld("comment", S_STR, lambda i: f"{pick(ADJECTIVES, i, 43)} course, would recommend", nulls_every(3, 2)),
        ),
        "enrollments": _learning(
            "/v1/enrollments",
            600,
            6,
            lambda i: f"Enrollment {i}",
            fld("course_id", S_INT, lambda i: 1 + mix(i, 50) % 50),
            fld("user_id", S_INT, lambda i: 1 + mix(i, 51) % 500),
            fld("progress", S_NUM, lambda i: 100.0 if i % 3 == 0 else float(mix(i, 52) % 100)),
            fld("completed_at", S_DT, lambda i: iso(EPOCH_2024 + i * 3600), lambda i: i % 3 != 0),
        ),
        "groups": _learning(
            "/v1/groups",
            2,
            7,
            lambda i: f"Group {pick(COLORS, i, 60)} {i}",
            fld("description", S_STR, lambda i: f"Study group {i}", nulls_every(2, 0)),
            fld("member_count", S_INT, lambda i: mix(i, 61) % 40),
        ),
        "instructors": _learning(
            "/v1/instructors",
            5,
            8,
            lambda i: full_name(i, 70),
            fld("email", S_STR, lambda i: email_for(i, "faculty.example.com", 70)),
            fld("bio", S_STR, lambda i: f"Teaches {pick(NOUNS, i, 72).lower()}", nulls_every(3, 1)),
            fld("course_count", S_INT, lambda i: mix(i, 73) % 12),
        ),
        "orders": _learning(
            "/v1/orders",
            500,
            9,
            lambda i: f"Order #{10000 + i}",
            fld("user_id", S_INT, lambda i: 1 + mix(i, 80) % 500),
            fld("total", S_NUM, lambda i: money(i, 81), nulls_every(25, 7)),
            fld("currency", S_STR, lambda i: pick(["USD", "EUR", "GBP"], i, 82)),
            fld("status", S_STR, lambda i: pick(["paid", "refunded", "pending"], i, 83)),
        ),
        "products": _learning(
            "/v1/products",
            7,
            10,
            lambda i: f"{title(i, 90)} bundle",
            fld("sku", S_STR, lambda i: f"SKU-{i:05d}"),
            fld("price", S_NUM, lambda i: money(i, 91), nulls_every(4, 2)),
            fld("product_type", S_STR, lambda i: pick(["course", "bundle", "subscription"], i, 92)),
        ),
        "coupons": _learning(
            "/v1/coupons",
            12,
            11,
            lambda i: f"Coupon {i}",
            fld("code", S_STR, lambda i: f"SAVE{i:03d}"),
            fld("discount_amount", S_NUM, lambda i: float(5 + mix(i, 100) % 50)),
            fld("max_uses", S_INT, lambda i: 10 * (1 + mix(i, 101) % 10), nulls_every(3, 0)),
            fld("expires_at", S_DT, lambda i: iso(EPOCH_2024 + i * 7 * 86400), nulls_every(4, 3)),
        ),
    },
)
