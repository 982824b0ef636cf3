"""The ``social_insights`` API (seed 002): string ids, records under ``data``, ``offset``/``limit`` paging.

``api_key`` in the query string; ``limit`` is capped at :data:`SOCIAL_MAX_LIMIT`. The insight
endpoints share a ``metric``/``value`` pair (:func:`_metric`).
"""

from __future__ import annotations

from collections.abc import Callable

from tap_restgeneric.sandbox.fields import (
    ADJECTIVES,
    CITIES,
    EPOCH_2024,
    NOUNS,
    S_DT,
    S_INT,
    S_STR,
    ApiSpec,
    Endpoint,
    Field,
    fld,
    full_name,
    iso,
    mix,
    nulls_every,
    pick,
)

SOCIAL_MAX_LIMIT = 100
_S = EPOCH_2024 + 10 * 86400


def _social_id(resource_no: int) -> Callable[[int], str]:
    return lambda i: f"179{resource_no:02d}{i:012d}"


def _social(no: int, path: str, count: int, name: Callable[[int], str], *extra: Field) -> Endpoint:
    fields = (
        Field("id", {"type": "string"}, _social_id(no)),
        fld("name", S_STR, name),
        fld("timestamp", S_DT, lambda i: iso(_S + no * 86400 + i * 600)),
        *extra,
    )
    return Endpoint(path, count, fields, pk_type="string")


def _metric(salt: int, options: list[str]) -> tuple[Field, Field]:
    return (
        fld("metric", S_STR, lambda i: pick(options, i, salt)),
        fld("value", S_INT, lambda i: mix(i, salt + 1) % 10000, nulls_every(13, 12)),
    )


SOCIAL_INSIGHTS = ApiSpec(
    "social_insights",
    ("query", "api_key"),
    "offset",
    "data",
    {
        "media": _social(
            0,
            "/v1/media",
            100,
            lambda i: f"post-{i}",
            fld("caption", S_STR, lambda i: f"{pick(ADJECTIVES, i, 300)} {pick(NOUNS, i, 301).lower()}", nulls_every(6, 5)),
            fld("media_type", S_STR, lambda i: pick(["IMAGE", "VIDEO", "CAROUSEL_ALBUM"], i, 302)),
            fld("like_count", S_INT, lambda i: mix(i, 303) % 5000),
            fld("comments_count", S_INT, lambda i: mix(i, 304) % 300),
        ),
        "media_insights": _social(
            1,
            "/v1/media_insights",
            101,
            lambda i: f"media-insight-{i}",
            fld("media_id", S_STR, lambda i: _social_id(0)(1 + (i - 1) % 100)),
            *_metric(310, ["impressions", "reach", "saved", "engagement"]),
            fld("period", S_STR, lambda i: "lifetime"),
        ),
        "stories": _social(
            2,
            "/v1/stories",
            0,
            lambda i: f"story-{i}",
            fld("caption", S_STR, lambda i: f"story {i}", nulls_every(2, 0)),
            fld("media_type", S_STR, lambda i: pick(["IMAGE", "VIDEO"], i, 320)),
        ),
        "user_insights": _social(
            3,
            "/v1/user_insights",
            1,
            lambda i: f"user-insight-{i}",
            *_metric(330, ["follower_count", "profile_views", "reach", "impressions"]),
            fld("period", S_STR, lambda i: "day"),
        ),
        "story_insights": _social(
            4,
            "/v1/story_insights",
            250,
            lambda i: f"story-insight-{i}",
            fld("story_id", S_STR, lambda i: _social_id(2)(1 + (i - 1) % 50)),
            *_metric(340, ["exits", "replies", "taps_forward", "taps_back", "reach"]),
            fld("period", S_STR, lambda i: "lifetime"),
        ),
        "users": _social(
            5,
            "/v1/users",
            3,
            lambda i: full_name(i, 350),
            fld("username", S_STR, lambda i: f"{pick(NOUNS, i, 351).lower()}_{i}"),
            fld("followers_count", S_INT, lambda i: mix(i, 352) % 100000),
            fld("media_count", S_INT, lambda i: mix(i, 353) % 1000, nulls_every(3, 2)),
        ),
        "user_lifetime_insights": _social(
            6,
            "/v1/user_lifetime_insights",
            199,
            lambda i: f"lifetime-insight-{i}",
            *_metric(360, ["audience_city", "audience_country", "audience_gender_age"]),
            fld("period", S_STR, lambda i: "lifetime"),
            fld("breakdown", S_STR, lambda i: pick(CITIES, i, 362), nulls_every(5, 0)),
        ),
    },
)
