"""The building blocks of the sandbox's synthetic data, shared by every API in :mod:`.apis`.

Deterministic value helpers (:func:`iso`, :func:`mix`, :func:`pick`, name and word lists,
:func:`full_name`, :func:`money`...), nullable JSON Schema shorthands (``S_STR``, ``S_DT``...),
the :class:`Field` / :class:`Endpoint` / :class:`ApiSpec` dataclasses that describe an API, and
the field shorthands :func:`fld`, :func:`int_id_field` and :func:`created_field`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


FIRST_NAMES = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pavel",
]
LAST_NAMES = [
    "Adams",
    "Brown",
    "Costa",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Novak",
]
ADJECTIVES = [
    "Applied",
    "Advanced",
    "Practical",
    "Modern",
    "Essential",
    "Core",
    "Intro",
    "Deep",
    "Rapid",
    "Visual",
    "Secure",
    "Open",
]
NOUNS = [
    "Data",
    "Design",
    "Writing",
    "Finance",
    "Statistics",
    "Networks",
    "Cooking",
    "Music",
    "Marketing",
    "Python",
    "Leadership",
    "Chemistry",
]
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
    return {"type": ["array", "null"], "items": {"type": "object", "properties": item_properties}}


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


def fld(name: str, schema: dict, gen: Callable[[int], Any], null_if: Callable[[int], bool] | None = None) -> Field:
    """Shorthand for :class:`Field` (positional: the API modules write many of them)."""
    return Field(name, schema, gen, null_if)


def int_id_field() -> Field:
    """The integer primary key ``id``: record ``i`` has id ``i``."""
    return Field("id", {"type": "integer"}, lambda i: i)


def created_field(base: int, step: int, name: str = "created_at") -> Field:
    """A timestamp field: record ``i`` was created ``i * step`` seconds after ``base``."""
    return Field(name, S_DT, lambda i: iso(base + i * step))
