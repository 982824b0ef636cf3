"""Deterministic synthetic data for the sandbox: what each seed API serves.

Everything here is a pure function of the record index (no randomness), so every
start of the sandbox serves byte-identical data.  The module describes:

* ``APIS``: one :class:`ApiSpec` per preset (plus the non-preset ``bench`` API):
  authentication, pagination style and the endpoints with their record counts
  and fields.
* ``PRESET_RESOURCES``: preset resource name -> endpoint path, per preset (two
  operations resources read the same transactional endpoint).
* :func:`schema_for`: the JSON Schema of a preset resource (the files under
  ``schemas/`` are exactly these documents).
* :class:`DataStore`: the current (mutable through :meth:`DataStore.advance`)
  records per endpoint.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

#: 2024-01-01T00:00:00Z
EPOCH_2024 = 1704067200
#: 2023-01-01T00:00:00Z
EPOCH_2023 = 1672531200

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def iso(seconds: int) -> str:
    """UTC epoch seconds -> ``2024-01-02T03:04:05Z``."""
    return time.strftime(TIMESTAMP_FORMAT, time.gmtime(seconds))


def iso_date(seconds: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


def mix(i: int, salt: int = 0) -> int:
    """A cheap deterministic integer hash of (i, salt), 0 <= result < 2**32."""
    x = (i * 2654435761 + salt * 40503 + 0x9E3779B9) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x45D9F3B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def pick(options: list, i: int, salt: int = 0) -> Any:
    return options[mix(i, salt) % len(options)]


def nulls_every(n: int, phase: int = 0) -> Callable[[int], bool]:
    """Predicate: the value of record ``i`` is null when ``i % n == phase``."""
    return lambda i: i % n == phase


FIRST_NAMES = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo",
               "Ines", "Jonas", "Kira", "Liam", "Maya", "Noah", "Olga", "Pavel"]
LAST_NAMES = ["Adams", "Brown", "Costa", "Diaz", "Evans", "Fischer", "Garcia",
              "Hansen", "Ito", "Jensen", "Kowalski", "Lopez", "Moreau", "Novak"]
ADJECTIVES = ["Applied", "Advanced", "Practical", "Modern", "Essential", "Core",
              "Intro", "Deep", "Rapid", "Visual", "Secure", "Open"]
NOUNS = ["Data", "Design", "Writing", "Finance", "Statistics", "Networks",
         "Cooking", "Music", "Marketing", "Python", "Leadership", "Chemistry"]
CITIES = ["Lisbon", "Oslo", "Austin", "Kyoto", "Nairobi", "Lima", "Perth", "Ghent"]
COLORS = ["red", "green", "blue", "amber", "teal", "violet", "grey", "orange"]
TAGS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "zeta"]


def full_name(i: int, salt: int = 0) -> str:
    return f"{pick(FIRST_NAMES, i, salt)} {pick(LAST_NAMES, i, salt + 1)}"


def email_for(i: int, domain: str = "example.com", salt: int = 0) -> str:
    first = pick(FIRST_NAMES, i, salt).lower()
    last = pick(LAST_NAMES, i, salt + 1).lower()
    return f"{first}.{last}{i}@{domain}"


def title(i: int, salt: int = 0) -> str:
    return f"{pick(ADJECTIVES, i, salt)} {pick(NOUNS, i, salt + 1)} {i}"


def money(i: int, salt: int, lo: int = 5, hi: int = 500) -> float:
    cents = lo * 100 + mix(i, salt) % ((hi - lo) * 100)
    return round(cents / 100.0, 2)


# ---------------------------------------------------------------------------
# JSON Schema fragments (every property nullable except the primary key)
# ---------------------------------------------------------------------------

S_STR = {"type": ["string", "null"]}
S_INT = {"type": ["integer", "null"]}
S_NUM = {"type": ["number", "null"]}
S_BOOL = {"type": ["boolean", "null"]}
S_DT = {"type": ["string", "null"], "format": "date-time"}
S_DATE = {"type": ["string", "null"], "format": "date"}
S_STR_ARRAY = {"type": ["array", "null"], "items": {"type": "string"}}
S_INT_ARRAY = {"type": ["array", "null"], "items": {"type": "integer"}}


def s_object(properties: dict[str, dict]) -> dict:
    return {"type": ["object", "null"], "properties": properties}


def s_array_of(item_properties: dict[str, dict]) -> dict:
    return {"type": ["array", "null"],
            "items": {"type": "object", "properties": item_properties}}


# ---------------------------------------------------------------------------
# specs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    schema: dict
    gen: Callable[[int], Any]
    #: when given and true for index i, the value is None instead of gen(i)
    null_if: Callable[[int], bool] | None = None

    def value(self, i: int) -> Any:
        if self.null_if is not None and self.null_if(i):
            return None
        return self.gen(i)


@dataclass(frozen=True)
class Endpoint:
    """One served endpoint (path relative to the API's base url)."""

    path: str
    count: int
    fields: tuple[Field, ...]
    #: JSON type of the primary key ``id``: "integer" or "string"
    pk_type: str = "integer"
    #: incidents only: how ``paging.next`` is written ("url", "path", "token")
    next_form: str | None = None
    #: operations transactional endpoints: records change on advance()
    transactional: bool = False
    #: key under ``data`` for the certifications shape
    data_key: str | None = None

    def make_record(self, i: int) -> dict:
        return {f.name: f.value(i) for f in self.fields}

    def make_records(self, n: int | None = None) -> list[dict]:
        n = self.count if n is None else n
        return [self.make_record(i) for i in range(1, n + 1)]


@dataclass(frozen=True)
class ApiSpec:
    name: str
    #: ("header", "api_key"), ("bearer", "") or ("query", "api_key")
    auth: tuple[str, str]
    #: "page" (learning), "page_per_page" (certifications), "offset"
    #: (social_insights), "cursor" (incidents), "operations", "bench"
    style: str
    #: where the records are in the body (for schema descriptions)
    selector: str
    endpoints: dict[str, Endpoint] = field(default_factory=dict)


def _f(name: str, schema: dict, gen: Callable[[int], Any],
       null_if: Callable[[int], bool] | None = None) -> Field:
    return Field(name, schema, gen, null_if)


def _id_int() -> Field:
    return Field("id", {"type": "integer"}, lambda i: i)


def _created(base: int, step: int, name: str = "created_at") -> Field:
    return Field(name, S_DT, lambda i: iso(base + i * step))


# -- learning (seed 000) -----------------------------------------------------

LEARNING_PAGE_SIZE = 250


def _learning(path: str, count: int, salt: int, name: Callable[[int], str],
              *extra: Field) -> Endpoint:
    base = EPOCH_2023 + salt * 86400
    fields = (_id_int(), _f("name", S_STR, name), _created(base, 3607), *extra)
    return Endpoint(path, count, fields)


LEARNING = ApiSpec("learning", ("header", "api_key"), "page", "items", {
    "courses": _learning(
        "/v1/courses", 0, 1, lambda i: f"course-{i}",
        _f("title", S_STR, lambda i: title(i, 1)),
        _f("status", S_STR, lambda i: pick(["draft", "published", "archived"], i, 2)),
        _f("price", S_NUM, lambda i: money(i, 3), nulls_every(5, 2)),
    ),
    "users": _learning(
        "/v1/users", 1, 2, lambda i: full_name(i, 10),
        _f("email", S_STR, lambda i: email_for(i, "learners.example.com", 10)),
        _f("first_name", S_STR, lambda i: pick(FIRST_NAMES, i, 10)),
        _f("last_name", S_STR, lambda i: pick(LAST_NAMES, i, 11), nulls_every(4, 3)),
    ),
    "promotions": _learning(
        "/v1/promotions", 250, 3, lambda i: f"Promotion {i}",
        _f("code", S_STR, lambda i: f"PROMO{i:04d}"),
        _f("discount_percent", S_NUM, lambda i: float(5 * (1 + mix(i, 20) % 10))),
        _f("active", S_BOOL, lambda i: i % 3 != 0),
        _f("expires_at", S_DT, lambda i: iso(EPOCH_2024 + i * 86400), nulls_every(4, 1)),
    ),
    "categories": _learning(
        "/v1/collections", 251, 4, lambda i: f"{pick(NOUNS, i, 30)} collection {i}",
        _f("slug", S_STR, lambda i: f"{pick(NOUNS, i, 30).lower()}-{i}"),
        _f("description", S_STR, lambda i: f"Courses about {pick(NOUNS, i, 30).lower()}",
           nulls_every(6, 5)),
        _f("position", S_INT, lambda i: i),
    ),
    "reviews": _learning(
        "/v1/course_reviews", 3, 5, lambda i: f"Review {i}",
        _f("course_id", S_INT, lambda i: 1 + mix(i, 40) % 50),
        _f("user_id", S_INT, lambda i: 1 + mix(i, 41) % 500),
        _f("rating", S_INT, lambda i: 1 + mix(i, 42) % 5),
        _f("comment", S_STR, lambda i: f"{pick(ADJECTIVES, i, 43)} course, would recommend",
           nulls_every(3, 2)),
    ),
    "enrollments": _learning(
        "/v1/enrollments", 600, 6, lambda i: f"Enrollment {i}",
        _f("course_id", S_INT, lambda i: 1 + mix(i, 50) % 50),
        _f("user_id", S_INT, lambda i: 1 + mix(i, 51) % 500),
        _f("progress", S_NUM, lambda i: 100.0 if i % 3 == 0 else float(mix(i, 52) % 100)),
        _f("completed_at", S_DT, lambda i: iso(EPOCH_2024 + i * 3600),
           lambda i: i % 3 != 0),
    ),
    "groups": _learning(
        "/v1/groups", 2, 7, lambda i: f"Group {pick(COLORS, i, 60)} {i}",
        _f("description", S_STR, lambda i: f"Study group {i}", nulls_every(2, 0)),
        _f("member_count", S_INT, lambda i: mix(i, 61) % 40),
    ),
    "instructors": _learning(
        "/v1/instructors", 5, 8, lambda i: full_name(i, 70),
        _f("email", S_STR, lambda i: email_for(i, "faculty.example.com", 70)),
        _f("bio", S_STR, lambda i: f"Teaches {pick(NOUNS, i, 72).lower()}", nulls_every(3, 1)),
        _f("course_count", S_INT, lambda i: mix(i, 73) % 12),
    ),
    "orders": _learning(
        "/v1/orders", 500, 9, lambda i: f"Order #{10000 + i}",
        _f("user_id", S_INT, lambda i: 1 + mix(i, 80) % 500),
        _f("total", S_NUM, lambda i: money(i, 81), nulls_every(25, 7)),
        _f("currency", S_STR, lambda i: pick(["USD", "EUR", "GBP"], i, 82)),
        _f("status", S_STR, lambda i: pick(["paid", "refunded", "pending"], i, 83)),
    ),
    "products": _learning(
        "/v1/products", 7, 10, lambda i: f"{title(i, 90)} bundle",
        _f("sku", S_STR, lambda i: f"SKU-{i:05d}"),
        _f("price", S_NUM, lambda i: money(i, 91), nulls_every(4, 2)),
        _f("product_type", S_STR, lambda i: pick(["course", "bundle", "subscription"], i, 92)),
    ),
    "coupons": _learning(
        "/v1/coupons", 12, 11, lambda i: f"Coupon {i}",
        _f("code", S_STR, lambda i: f"SAVE{i:03d}"),
        _f("discount_amount", S_NUM, lambda i: float(5 + mix(i, 100) % 50)),
        _f("max_uses", S_INT, lambda i: 10 * (1 + mix(i, 101) % 10), nulls_every(3, 0)),
        _f("expires_at", S_DT, lambda i: iso(EPOCH_2024 + i * 7 * 86400), nulls_every(4, 3)),
    ),
})

# -- certifications (seed 001) -----------------------------------------------

CERTIFICATIONS_MAX_PER_PAGE = 100
_C = EPOCH_2023 + 30 * 86400


def _cert(path: str, key: str, count: int, *fields: Field) -> Endpoint:
    return Endpoint(path, count, (_id_int(), *fields), data_key=key)


def _reg_completed(i: int) -> bool:
    return i % 2 == 1


CERTIFICATIONS = ApiSpec("certifications", ("bearer", ""), "page_per_page",
                         "data.<resource>", {
    "awarded_certifications": _cert(
        "/v1/awarded_certifications", "awarded_certifications", 101,
        _f("name", S_STR, lambda i: f"{pick(NOUNS, i, 200)} Practitioner"),
        _f("description", S_STR, lambda i: f"Awarded for completing {pick(NOUNS, i, 200).lower()}",
           nulls_every(5, 4)),
        _f("user_id", S_INT, lambda i: 1 + mix(i, 201) % 250),
        _f("user_name", S_STR, lambda i: full_name(1 + mix(i, 201) % 250, 260)),
        _f("user_email", S_STR, lambda i: email_for(1 + mix(i, 201) % 250, "example.org", 260)),
        _f("awarded_at", S_DT, lambda i: iso(_C + i * 5400)),
    ),
    "certifications": _cert(
        "/v1/certifications", "certifications", 100,
        _f("name", S_STR, lambda i: f"{title(i, 210)} Certificate"),
        _f("description", S_STR, lambda i: f"Certificate {i}", nulls_every(7, 3)),
        _f("created_at", S_DT, lambda i: iso(_C + i * 86400)),
        _f("awarded_by_name", S_STR, lambda i: full_name(i, 212), nulls_every(4, 0)),
        _f("awarded_by_title", S_STR, lambda i: pick(["Director", "Lead Trainer", "Dean"], i, 213),
           nulls_every(4, 0)),
    ),
    "paths_users": _cert("/v1/paths_users", "paths_users", 0),
    "registrations": _cert(
        "/v1/registrations", "registrations", 1,
        _f("completed_at", S_DT, lambda i: iso(_C + i * 7200 + 3600),
           lambda i: not _reg_completed(i)),
        _f("is_completed", S_BOOL, _reg_completed),
        _f("completion_percentage", S_NUM,
           lambda i: 100.0 if _reg_completed(i) else float(mix(i, 220) % 100)),
        _f("score", S_NUM, lambda i: float(50 + mix(i, 221) % 51), lambda i: not _reg_completed(i)),
        _f("due_at", S_DT, lambda i: iso(_C + i * 7200 + 30 * 86400)),
        _f("due_date", S_DATE, lambda i: iso_date(_C + i * 7200 + 30 * 86400)),
        _f("pass_status", S_STR, lambda i: "passed" if 50 + mix(i, 221) % 51 >= 70 else "failed",
           lambda i: not _reg_completed(i)),
        _f("created_at", S_DT, lambda i: iso(_C + i * 7200)),
        _f("user", s_object({"id": S_INT, "email": S_STR}),
           lambda i: {"id": 1 + mix(i, 223) % 250,
                      "email": email_for(1 + mix(i, 223) % 250, "example.org", 260)}),
        _f("content", s_object({"id": S_INT, "type": S_STR, "name": S_STR}),
           lambda i: {"id": 1 + mix(i, 224) % 42,
                      "type": pick(["course", "path", "event"], 1 + mix(i, 224) % 42, 230),
                      "name": title(1 + mix(i, 224) % 42, 231)}),
    ),
    "trainings": _cert(
        "/v1/trainings", "trainings", 42,
        _f("type", S_STR, lambda i: pick(["course", "path", "event"], i, 230)),
        _f("name", S_STR, lambda i: title(i, 231)),
        _f("created_at", S_DT, lambda i: iso(_C + i * 43200), nulls_every(10, 9)),
    ),
    "users": _cert(
        "/v1/users", "users", 250,
        _f("email", S_STR, lambda i: email_for(i, "example.org", 260)),
        _f("segments", S_STR_ARRAY,
           lambda i: [pick(["staff", "partner", "customer", "trial"], i, 261 + k)
                      for k in range(i % 3)]),
        _f("display_name", S_STR, lambda i: full_name(i, 260), nulls_every(9, 8)),
        _f("first_name", S_STR, lambda i: pick(FIRST_NAMES, i, 260)),
        _f("last_name", S_STR, lambda i: pick(LAST_NAMES, i, 261), nulls_every(11, 10)),
        _f("created_at", S_DT, lambda i: iso(_C + i * 1800)),
        _f("custom_registration_field_values",
           s_array_of({"field": S_STR, "value": S_STR}),
           lambda i: [{"field": "department", "value": pick(NOUNS, i, 270)},
                      {"field": "city", "value": pick(CITIES, i, 271)}][: i % 3]),
    ),
})

# -- social_insights (seed 002) ----------------------------------------------

SOCIAL_MAX_LIMIT = 100
_S = EPOCH_2024 + 10 * 86400


def _social_id(resource_no: int) -> Callable[[int], str]:
    return lambda i: f"179{resource_no:02d}{i:012d}"


def _social(no: int, path: str, count: int, name: Callable[[int], str], *extra: Field) -> Endpoint:
    fields = (Field("id", {"type": "string"}, _social_id(no)),
              _f("name", S_STR, name),
              _f("timestamp", S_DT, lambda i: iso(_S + no * 86400 + i * 600)),
              *extra)
    return Endpoint(path, count, fields, pk_type="string")


def _metric(salt: int, options: list[str]) -> tuple[Field, Field]:
    return (_f("metric", S_STR, lambda i: pick(options, i, salt)),
            _f("value", S_INT, lambda i: mix(i, salt + 1) % 10000, nulls_every(13, 12)))


SOCIAL_INSIGHTS = ApiSpec("social_insights", ("query", "api_key"), "offset", "data", {
    "media": _social(
        0, "/v1/media", 100, lambda i: f"post-{i}",
        _f("caption", S_STR, lambda i: f"{pick(ADJECTIVES, i, 300)} {pick(NOUNS, i, 301).lower()}",
           nulls_every(6, 5)),
        _f("media_type", S_STR, lambda i: pick(["IMAGE", "VIDEO", "CAROUSEL_ALBUM"], i, 302)),
        _f("like_count", S_INT, lambda i: mix(i, 303) % 5000),
        _f("comments_count", S_INT, lambda i: mix(i, 304) % 300),
    ),
    "media_insights": _social(
        1, "/v1/media_insights", 101, lambda i: f"media-insight-{i}",
        _f("media_id", S_STR, lambda i: _social_id(0)(1 + (i - 1) % 100)),
        *_metric(310, ["impressions", "reach", "saved", "engagement"]),
        _f("period", S_STR, lambda i: "lifetime"),
    ),
    "stories": _social(
        2, "/v1/stories", 0, lambda i: f"story-{i}",
        _f("caption", S_STR, lambda i: f"story {i}", nulls_every(2, 0)),
        _f("media_type", S_STR, lambda i: pick(["IMAGE", "VIDEO"], i, 320)),
    ),
    "user_insights": _social(
        3, "/v1/user_insights", 1, lambda i: f"user-insight-{i}",
        *_metric(330, ["follower_count", "profile_views", "reach", "impressions"]),
        _f("period", S_STR, lambda i: "day"),
    ),
    "story_insights": _social(
        4, "/v1/story_insights", 250, lambda i: f"story-insight-{i}",
        _f("story_id", S_STR, lambda i: _social_id(2)(1 + (i - 1) % 50)),
        *_metric(340, ["exits", "replies", "taps_forward", "taps_back", "reach"]),
        _f("period", S_STR, lambda i: "lifetime"),
    ),
    "users": _social(
        5, "/v1/users", 3, lambda i: full_name(i, 350),
        _f("username", S_STR, lambda i: f"{pick(NOUNS, i, 351).lower()}_{i}"),
        _f("followers_count", S_INT, lambda i: mix(i, 352) % 100000),
        _f("media_count", S_INT, lambda i: mix(i, 353) % 1000, nulls_every(3, 2)),
    ),
    "user_lifetime_insights": _social(
        6, "/v1/user_lifetime_insights", 199, lambda i: f"lifetime-insight-{i}",
        *_metric(360, ["audience_city", "audience_country", "audience_gender_age"]),
        _f("period", S_STR, lambda i: "lifetime"),
        _f("breakdown", S_STR, lambda i: pick(CITIES, i, 362), nulls_every(5, 0)),
    ),
})

# -- incidents (seed 003) ----------------------------------------------------

INCIDENTS_PAGE_SIZE = 25
_I = EPOCH_2024 + 40 * 86400


def _inc_id(prefix: str) -> Callable[[int], str]:
    return lambda i: f"{prefix}{i:05d}"


def _incident_ep(prefix: str, path: str, count: int, next_form: str, salt: int,
                 name: Callable[[int], str], *extra: Field) -> Endpoint:
    fields = (Field("id", {"type": "string"}, _inc_id(prefix)),
              _f("name", S_STR, name),
              *extra,
              _f("created_at", S_DT, lambda i: iso(_I + salt * 86400 + i * 900)))
    return Endpoint(path, count, fields, pk_type="string", next_form=next_form)


INCIDENTS = ApiSpec("incidents", ("header", "api_key"), "cursor", "data", {
    "users": _incident_ep(
        "PUSR", "/v2/users", 26, "url", 1, lambda i: full_name(i, 400),
        _f("email", S_STR, lambda i: email_for(i, "oncall.example.com", 400)),
        _f("role", S_STR, lambda i: pick(["admin", "responder", "observer"], i, 401)),
        _f("time_zone", S_STR, lambda i: pick(["UTC", "Europe/Lisbon", "America/Chicago"], i, 402),
           nulls_every(5, 4)),
    ),
    "teams": _incident_ep(
        "PTEM", "/v2/teams", 25, "path", 2, lambda i: f"Team {pick(COLORS, i, 410)} {i}",
        _f("description", S_STR, lambda i: f"Owns {pick(NOUNS, i, 411).lower()} services",
           nulls_every(4, 1)),
    ),
    "services": _incident_ep(
        "PSVC", "/v1/services", 0, "token", 3, lambda i: f"service-{i}",
        _f("status", S_STR, lambda i: pick(["active", "warning", "critical", "disabled"], i, 420)),
        _f("team_id", S_STR, lambda i: _inc_id("PTEM")(1 + mix(i, 421) % 25)),
    ),
    "integrations": _incident_ep(
        "PINT", "/v2/integrations", 1, "token", 4, lambda i: f"integration-{i}",
        _f("type", S_STR, lambda i: pick(["email", "events_api", "webhook"], i, 430)),
        _f("service_id", S_STR, lambda i: _inc_id("PSVC")(1 + mix(i, 431) % 10), nulls_every(2, 0)),
    ),
    "incidents": _incident_ep(
        "PINC", "/v1/incidents", 60, "path", 5, lambda i: f"INC-{i}",
        _f("title", S_STR, lambda i: f"{pick(NOUNS, i, 440)} latency above threshold"),
        _f("status", S_STR, lambda i: pick(["triggered", "acknowledged", "resolved"], i, 441)),
        _f("urgency", S_STR, lambda i: pick(["high", "low"], i, 442), nulls_every(10, 3)),
        _f("service_id", S_STR, lambda i: _inc_id("PSVC")(1 + mix(i, 443) % 10)),
    ),
    "alerts": _incident_ep(
        "PALR", "/v2/alerts", 75, "token", 6, lambda i: f"alert-{i}",
        _f("incident_id", S_STR, lambda i: _inc_id("PINC")(1 + (i - 1) % 60), nulls_every(15, 14)),
        _f("severity", S_STR, lambda i: pick(["critical", "error", "warning", "info"], i, 450)),
    ),
})

# -- operations (seed 004) ---------------------------------------------------

TRANSACTIONAL_MAX_LIMIT = 10000
_O = EPOCH_2023 + 100 * 86400


def _master(path: str, count: int, salt: int, name: Callable[[int], str], *extra: Field) -> Endpoint:
    fields = (_id_int(), _f("name", S_STR, name),
              _f("createdTimestamp", S_DT, lambda i: iso(_O + salt * 86400 + i * 3600)),
              *extra)
    return Endpoint(path, count, fields)


def _updated_at(i: int) -> int:
    """Initial updated_at of transactional record ``i``: 2024-01-01 + i minutes."""
    return EPOCH_2024 + i * 60


REGISTRATIONS = Endpoint("/v1/transactional/registrations", 10001, (
    _id_int(),
    _f("created_at", S_DT, lambda i: iso(_updated_at(i))),
    _f("updated_at", S_DT, lambda i: iso(_updated_at(i))),
    _f("worker_id", S_INT, lambda i: 1 + mix(i, 500) % 45),
    _f("task_id", S_INT, lambda i: 1 + mix(i, 501) % 80),
    _f("quantity", S_NUM, lambda i: round((mix(i, 502) % 5000) / 10.0, 1), nulls_every(50, 17)),
    _f("unit", S_STR, lambda i: pick(["kg", "crate", "piece", "tray"], i, 503)),
), transactional=True)


SESSIONS = Endpoint("/v1/transactional/sessions", 10000, (
    _id_int(),
    _f("created_at", S_DT, lambda i: iso(_updated_at(i))),
    _f("updated_at", S_DT, lambda i: iso(_updated_at(i))),
    _f("worker_id", S_INT, lambda i: 1 + mix(i, 510) % 45),
    _f("location_id", S_INT, lambda i: 1 + mix(i, 511) % 12, nulls_every(40, 9)),
    _f("started_at", S_DT, lambda i: iso(_updated_at(i) - 60 * (30 + mix(i, 512) % 240))),
    _f("ended_at", S_DT, lambda i: iso(_updated_at(i)), nulls_every(20, 13)),
    _f("duration_minutes", S_NUM, lambda i: float(30 + mix(i, 512) % 240), nulls_every(20, 13)),
), transactional=True)


OPERATIONS = ApiSpec("operations", ("header", "api_key"), "operations", "data", {
    "clients": _master(
        "/v1/master/client", 1, 1, lambda i: f"Client {i}",
        _f("code", S_STR, lambda i: f"CL{i:03d}"),
        _f("active", S_BOOL, lambda i: True),
        _f("timezone", S_STR, lambda i: "Europe/Amsterdam", nulls_every(2, 0)),
    ),
    "locations": _master(
        "/v1/master/locations", 12, 2, lambda i: f"{pick(CITIES, i, 600)} site {i}",
        _f("code", S_STR, lambda i: f"LOC{i:03d}"),
        _f("latitude", S_NUM, lambda i: round(-60 + (mix(i, 601) % 12000) / 100.0, 2), nulls_every(6, 5)),
        _f("longitude", S_NUM, lambda i: round(-170 + (mix(i, 602) % 34000) / 100.0, 2), nulls_every(6, 5)),
        _f("active", S_BOOL, lambda i: i % 5 != 0),
    ),
    "rows": _master(
        "/v1/master/rows", 0, 3, lambda i: f"Row {i}",
        _f("location_id", S_INT, lambda i: 1 + i % 12),
        _f("position", S_INT, lambda i: i),
    ),
    "users": _master(
        "/v1/master/users", 30, 4, lambda i: full_name(i, 620),
        _f("email", S_STR, lambda i: email_for(i, "ops.example.com", 620), nulls_every(10, 7)),
        _f("role", S_STR, lambda i: pick(["manager", "supervisor", "viewer"], i, 621)),
        _f("active", S_BOOL, lambda i: i % 7 != 0),
    ),
    "workers": _master(
        "/v1/master/workers", 45, 5, lambda i: full_name(i, 630),
        _f("code", S_STR, lambda i: f"W{i:04d}"),
        _f("worker_group_id", S_INT, lambda i: 1 + i % 4, nulls_every(9, 8)),
        _f("active", S_BOOL, lambda i: i % 6 != 0),
        _f("skills", S_STR_ARRAY,
           lambda i: sorted({pick(["picking", "packing", "pruning", "driving"], i, 631 + k)
                             for k in range(1 + i % 3)})),
    ),
    "worker_groups": _master(
        "/v1/master/workergroups", 4, 6, lambda i: f"Crew {pick(COLORS, i, 640)} {i}",
        _f("description", S_STR, lambda i: f"Worker group {i}", nulls_every(2, 1)),
        _f("active", S_BOOL, lambda i: True),
    ),
    "tasks": _master(
        "/v1/master/tasks", 80, 7, lambda i: f"Task {i}",
        _f("code", S_STR, lambda i: f"T{i:04d}"),
        _f("task_group_id", S_INT, lambda i: 1 + i % 6),
        _f("unit", S_STR, lambda i: pick(["kg", "crate", "piece", "tray"], i, 650)),
        _f("rate", S_NUM, lambda i: money(i, 651, 1, 40), nulls_every(8, 3)),
    ),
    "task_groups": _master(
        "/v1/master/taskgroups", 6, 8, lambda i: f"Task group {i}",
        _f("description", S_STR, lambda i: f"{pick(NOUNS, i, 660)} tasks", nulls_every(3, 2)),
        _f("active", S_BOOL, lambda i: i != 6),
    ),
    "labels": _master(
        "/v1/master/labels", 9, 9, lambda i: f"Label {i}",
        _f("color", S_STR, lambda i: pick(COLORS, i, 670), nulls_every(4, 2)),
        _f("active", S_BOOL, lambda i: i % 4 != 0),
    ),
    "varieties": _master(
        "/v1/master/varieties", 15, 10, lambda i: f"Variety {pick(ADJECTIVES, i, 680)} {i}",
        _f("code", S_STR, lambda i: f"V{i:03d}"),
        _f("description", S_STR, lambda i: f"Variety number {i}", nulls_every(5, 1)),
        _f("label_ids", S_INT_ARRAY, lambda i: [1 + (i + k) % 9 for k in range(i % 3)]),
    ),
    "registrations": REGISTRATIONS,
    "sessions": SESSIONS,
})

# -- bench (not a preset) ----------------------------------------------------

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


BENCH = ApiSpec("bench", ("header", "api_key"), "bench", "data", {
    "items": Endpoint("/v1/items", 0, ()),  # count set per server (bench_records)
})

APIS: dict[str, ApiSpec] = {a.name: a for a in
                            (LEARNING, CERTIFICATIONS, SOCIAL_INSIGHTS, INCIDENTS, OPERATIONS, BENCH)}

#: the five presets, in seed order
PRESETS = ("learning", "certifications", "social_insights", "incidents", "operations")

#: preset -> {preset resource name: endpoint key in APIS[preset].endpoints}
PRESET_RESOURCES: dict[str, dict[str, str]] = {
    "learning": {r: r for r in LEARNING.endpoints},
    "certifications": {r: r for r in CERTIFICATIONS.endpoints},
    "social_insights": {r: r for r in SOCIAL_INSIGHTS.endpoints},
    "incidents": {r: r for r in INCIDENTS.endpoints},
    "operations": {
        **{r: r for r in OPERATIONS.endpoints if r not in ("registrations", "sessions")},
        "registrations_initial": "registrations",
        "registrations_incremental": "registrations",
        "sessions_initial": "sessions",
        "sessions_incremental": "sessions",
    },
}


def endpoint_key(api: str, resource: str) -> str:
    """Preset resource name (or endpoint key) -> endpoint key; KeyError if unknown."""
    if api not in APIS:
        raise KeyError(f"unknown api {api!r}; known: {', '.join(APIS)}")
    mapping = PRESET_RESOURCES.get(api, {})
    if resource in mapping:
        return mapping[resource]
    if resource in APIS[api].endpoints:
        return resource
    raise KeyError(f"unknown resource {resource!r} of api {api!r}")


# ---------------------------------------------------------------------------
# JSON Schema per preset resource
# ---------------------------------------------------------------------------


def _selector_text(api: ApiSpec, ep: Endpoint) -> str:
    if ep.data_key:
        return f"data.{ep.data_key}"
    return api.selector


def schema_for(api: str, resource: str) -> dict:
    """The draft-07 JSON Schema of preset resource ``resource`` of ``api``."""
    spec = APIS[api]
    ep = spec.endpoints[endpoint_key(api, resource)]
    properties = {f.name: copy.deepcopy(f.schema) for f in ep.fields}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "description": (f"Preset {api}, stream {resource}: GET {ep.path}, "
                        f"records under `{_selector_text(spec, ep)}`."),
        "properties": properties,
        "required": ["id"],
    }


# ---------------------------------------------------------------------------
# the mutable data store
# ---------------------------------------------------------------------------


class DataStore:
    """Current records of every endpoint; only transactional ones change."""

    #: how many records advance() appends / updates per transactional endpoint
    ADVANCE_NEW = 3
    ADVANCE_UPDATED = 2

    def __init__(self, bench_records: int = 100_000) -> None:
        self.bench_records = int(bench_records)
        self._lock = threading.Lock()
        #: (api, endpoint key) -> list of records (replaced, never mutated, on advance)
        self._records: dict[tuple[str, str], list[dict]] = {}
        #: (api, endpoint key) -> updated_at epoch seconds, parallel to the records
        self._updated: dict[tuple[str, str], list[int]] = {}
        self._advances: dict[str, int] = {}
        for api_name, spec in APIS.items():
            if api_name == "bench":
                continue
            for key, ep in spec.endpoints.items():
                recs = ep.make_records()
                self._records[(api_name, key)] = recs
                if ep.transactional:
                    self._updated[(api_name, key)] = [_updated_at(r["id"]) for r in recs]

    # -- reads (return the internal lists: callers must not mutate them) --

    def endpoint_records(self, api: str, key: str) -> list[dict]:
        if api == "bench":
            return [bench_record(i) for i in range(1, self.bench_records + 1)]
        return self._records[(api, key)]

    def snapshot(self, api: str, key: str) -> tuple[list[dict], list[int] | None]:
        """Records and (transactional only) their updated_at epoch seconds."""
        with self._lock:
            return self._records[(api, key)], self._updated.get((api, key))

    def count(self, api: str, key: str) -> int:
        if api == "bench":
            return self.bench_records
        return len(self._records[(api, key)])

    def counts(self) -> dict[str, dict[str, int]]:
        return {api: {res: self.count(api, key) for res, key in PRESET_RESOURCES[api].items()}
                for api in PRESETS}

    # -- writes --

    def advance(self, api: str) -> dict[str, dict[str, list]]:
        """Append 3 records and update 2 existing ones in each transactional endpoint.

        Deterministic: the k-th advance (k = 1, 2, ...) updates ids 10k-5 and 10k
        (modulo the initial count) and gives all touched records updated_at values
        later than every existing one.  Returns {endpoint: {"new": ids, "updated": ids}}.
        """
        if api not in APIS:
            raise KeyError(f"unknown api {api!r}; known: {', '.join(APIS)}")
        result: dict[str, dict[str, list]] = {}
        with self._lock:
            k = self._advances.get(api, 0) + 1
            self._advances[api] = k
            for key, ep in APIS[api].endpoints.items():
                if not ep.transactional:
                    continue
                recs = list(self._records[(api, key)])
                upd = list(self._updated[(api, key)])
                t = max(upd) if upd else EPOCH_2024
                updated_ids = []
                for j, base_id in enumerate((10 * k - 5, 10 * k)):
                    rid = (base_id - 1) % ep.count + 1
                    pos = rid - 1  # records are sorted by id, ids 1..n contiguous
                    t += 60
                    rec = dict(recs[pos])
                    rec["updated_at"] = iso(t)
                    if "quantity" in rec:
                        rec["quantity"] = round((rec["quantity"] or 0) + 1.5, 1)
                    if "duration_minutes" in rec:
                        rec["duration_minutes"] = (rec["duration_minutes"] or 0.0) + 5.0
                        rec["ended_at"] = iso(t)
                    recs[pos] = rec
                    upd[pos] = t
                    updated_ids.append(rid)
                new_ids = []
                for _ in range(self.ADVANCE_NEW):
                    rid = len(recs) + 1
                    t += 60
                    rec = ep.make_record(rid)
                    # created/updated now (after every existing record)
                    rec["created_at"] = iso(t)
                    rec["updated_at"] = iso(t)
                    if "started_at" in rec:
                        rec["started_at"] = iso(t - 3600)
                        if rec.get("ended_at") is not None:
                            rec["ended_at"] = iso(t)
                            rec["duration_minutes"] = 60.0
                    recs.append(rec)
                    upd.append(t)
                    new_ids.append(rid)
                self._records[(api, key)] = recs
                self._updated[(api, key)] = upd
                result[key] = {"new": new_ids, "updated": updated_ids}
        return result
