"""Deterministic synthetic data for the sandbox: what each seed API serves.

Everything here is a pure function of the record index (no randomness), so every
start of the sandbox serves byte-identical data.  The APIs themselves are described
in :mod:`.apis` (one module each) from the building blocks in :mod:`.fields`; this
module puts them together and re-exports the names the server and the tests use:

* ``APIS``: one :class:`ApiSpec` per preset (plus the non-preset ``bench`` API):
  authentication, pagination style and the endpoints with their record counts
  and fields.
* ``PRESETS``: the tap's list of presets (:data:`tap_restgeneric.source.PRESETS`).
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

from tap_restgeneric.source import PRESETS

from .apis import BENCH, CERTIFICATIONS, INCIDENTS, LEARNING, OPERATIONS, SOCIAL_INSIGHTS
from .apis.bench import BENCH_MAX_LIMIT, bench_record
from .apis.certifications import CERTIFICATIONS_MAX_PER_PAGE
from .apis.incidents import INCIDENTS_PAGE_SIZE
from .apis.learning import LEARNING_PAGE_SIZE
from .apis.operations import TRANSACTIONAL_MAX_LIMIT, initial_updated_at
from .apis.social_insights import SOCIAL_MAX_LIMIT
from .fields import EPOCH_2023, EPOCH_2024, ApiSpec, Endpoint, Field, iso

__all__ = [
    "APIS",
    "BENCH_MAX_LIMIT",
    "CERTIFICATIONS_MAX_PER_PAGE",
    "EPOCH_2023",
    "EPOCH_2024",
    "INCIDENTS_PAGE_SIZE",
    "LEARNING_PAGE_SIZE",
    "PRESETS",
    "PRESET_RESOURCES",
    "SOCIAL_MAX_LIMIT",
    "TRANSACTIONAL_MAX_LIMIT",
    "ApiSpec",
    "DataStore",
    "Endpoint",
    "Field",
    "bench_record",
    "endpoint_key",
    "iso",
    "schema_for",
]

APIS: dict[str, ApiSpec] = {a.name: a for a in (LEARNING, CERTIFICATIONS, SOCIAL_INSIGHTS, INCIDENTS, OPERATIONS, BENCH)}

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
        "description": (f"Preset {api}, stream {resource}: GET {ep.path}, records under `{_selector_text(spec, ep)}`."),
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
                    self._updated[(api_name, key)] = [initial_updated_at(r["id"]) for r in recs]

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
        return {api: {res: self.count(api, key) for res, key in PRESET_RESOURCES[api].items()} for api in PRESETS}

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
