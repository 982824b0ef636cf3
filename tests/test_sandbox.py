"""Tests of the sandbox server itself (tap_restgeneric.sandbox)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from http.client import HTTPConnection
from pathlib import Path

import pytest
import requests
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the package is not necessarily installed
    sys.path.insert(0, str(ROOT))

from tap_restgeneric.sandbox import FAULT_KINDS, RequestLog, SandboxServer  # noqa: E402
from tap_restgeneric.sandbox import data as D  # noqa: E402
from tap_restgeneric.sandbox.server import encode_cursor  # noqa: E402
from tap_restgeneric.source import PRESETS  # noqa: E402
from tests.support import wait_for  # noqa: E402

SECRET = "test-secret"
TIMEOUT = 10


def load_preset(api: str) -> dict:
    return yaml.safe_load((ROOT / "tap_restgeneric" / "presets" / f"{api}.yaml").read_text())


PRESET_RESOURCES = [(api, res["name"], res["endpoint"]["path"]) for api in PRESETS for res in load_preset(api)["resources"]]


def auth(api: str, secret: str = SECRET) -> dict:
    """requests kwargs carrying the credential the preset's auth block describes."""
    if api == "certifications":
        return {"headers": {"Authorization": f"Bearer {secret}"}}
    if api == "social_insights":
        return {"params": {"api_key": secret}}
    return {"headers": {"api_key": secret}}


@pytest.fixture(scope="module")
def sb():
    with SandboxServer(secret=SECRET, port=0, latency_ms=0, bench_records=2500) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_leftover_faults(request):
    yield
    if "sb" in request.fixturenames:
        request.getfixturevalue("sb").clear_faults()


@pytest.fixture(scope="module")
def http():
    with requests.Session() as session:
        yield session


def get(http, sb, api, path, params=None, creds=True, **kwargs):
    kw = auth(api) if creds else {}
    merged = dict(kw.get("params", {}))
    merged.update(params or {})
    headers = dict(kw.get("headers", {}))
    headers.update(kwargs.pop("headers", {}))
    url = path if path.startswith("http") else sb.base_url(api) + path
    kwargs.setdefault("timeout", TIMEOUT)
    return http.get(url, params=merged, headers=headers, **kwargs)


def get_json(http, sb, api, path, params=None):
    resp = get(http, sb, api, path, params)
    assert resp.status_code == 200, (path, params, resp.text)
    assert resp.headers["Content-Type"].startswith("application/json")
    return resp.json()


def fetch_all(http, sb, api, resource, path):
    """Pull every record of a preset resource the way its paginator describes."""
    out: list[dict] = []
    if api == "learning":
        page = 1
        while True:
            body = get_json(http, sb, api, path, {"page": page})
            assert body["meta"] == {"page": page, "per_page": 250}
            if not body["items"]:
                return out
            out += body["items"]
            page += 1
    if api == "certifications":
        page = 1
        while True:
            body = get_json(http, sb, api, path, {"page": page, "per_page": 100})
            items = body["data"][resource]
            out += items
            if len(items) < 100:
                return out
            page += 1
    if api == "social_insights":
        offset = 0
        while True:
            body = get_json(http, sb, api, path, {"offset": offset, "limit": 100})
            assert "total" not in body and body["paging"] == {"offset": offset, "limit": 100}
            out += body["data"]
            if len(body["data"]) < 100:
                return out
            offset += 100
    if api == "incidents":
        target, params = path, {}
        for _ in range(100):
            body = get_json(http, sb, api, target, params)
            out += body["data"]
            nxt = body["paging"].get("next")
            if not nxt:
                assert body["paging"] == {}
                return out
            if nxt.startswith("http"):
                target, params = nxt, {}
            elif nxt.startswith("/"):
                target, params = sb.url + nxt, {}
            else:
                target, params = path, {"cursor": nxt}
        raise AssertionError("cursor loop")
    # operations
    if resource.endswith("_initial"):
        offset = 0
        while True:
            body = get_json(http, sb, api, path, {"offset": offset, "limit": 10000})
            out += body["data"]
            if len(body["data"]) < 10000:
                return out
            offset += 10000
    body = get_json(http, sb, api, path)
    return body["data"]


# ---------------------------------------------------------------------------
# schemas and served data
# ---------------------------------------------------------------------------


def test_schema_file_per_preset_resource():
    expected = {(api, name) for api, name, _ in PRESET_RESOURCES}
    found = {(p.parent.name, p.stem) for p in (ROOT / "schemas").glob("*/*.json")}
    assert found == expected
    for api, name, path in PRESET_RESOURCES:
        schema = json.loads((ROOT / "schemas" / api / f"{name}.json").read_text())
        assert schema == D.schema_for(api, name), f"{api}/{name} drifted from data.py"
        Draft7Validator.check_schema(schema)
        assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
        assert schema["type"] == "object" and schema["required"] == ["id"]
        assert "additionalProperties" not in schema
        assert f"stream {name}: GET {path}," in schema["description"]
        props = schema["properties"]
        assert props["id"]["type"] in ("integer", "string")
        for field, prop in props.items():
            if field != "id":
                assert "null" in prop["type"], (api, name, field)
            if field.endswith("_at") or field in ("timestamp", "createdTimestamp"):
                assert prop.get("format") == "date-time", (api, name, field)


def test_certifications_fields_are_the_seeds():
    def fields(res):
        return list(D.schema_for("certifications", res)["properties"])

    assert fields("awarded_certifications") == ["id", "name", "description", "user_id", "user_name", "user_email", "awarded_at"]
    assert fields("certifications") == ["id", "name", "description", "created_at", "awarded_by_name", "awarded_by_title"]
    assert fields("paths_users") == ["id"]
    assert fields("registrations") == [
        "id",
        "completed_at",
        "is_completed",
        "completion_percentage",
        "score",
        "due_at",
        "due_date",
        "pass_status",
        "created_at",
        "user",
        "content",
    ]
    assert fields("trainings") == ["id", "type", "name", "created_at"]
    assert fields("users") == [
        "id",
        "email",
        "segments",
        "display_name",
        "first_name",
        "last_name",
        "created_at",
        "custom_registration_field_values",
    ]


@pytest.mark.parametrize("api", PRESETS)
def test_every_served_record_validates_against_its_schema(sb, http, api):
    counts = sb.counts()[api]
    for api_name, resource, path in PRESET_RESOURCES:
        if api_name != api:
            continue
        schema = json.loads((ROOT / "schemas" / api / f"{resource}.json").read_text())
        validator = Draft7Validator(schema)
        records = fetch_all(http, sb, api, resource, path)
        assert len(records) == counts[resource], resource
        assert records == sb.records(api, resource), resource
        ids = [r["id"] for r in records]
        assert ids == sb.ids(api, resource) and len(set(ids)) == len(ids)
        props = set(schema["properties"])
        seen_null = False
        for record in records:
            errors = list(validator.iter_errors(record))
            assert not errors, (resource, record, errors[0].message)
            assert set(record) == props, resource
            seen_null = seen_null or any(v is None for v in record.values())
        if len(records) > 20 and len(props) > 2:
            assert seen_null, f"{api}/{resource}: no nullable value is ever null"


def test_expected_counts(sb):
    counts = sb.counts()
    assert counts["learning"] == {
        "courses": 0,
        "users": 1,
        "promotions": 250,
        "categories": 251,
        "reviews": 3,
        "enrollments": 600,
        "groups": 2,
        "instructors": 5,
        "orders": 500,
        "products": 7,
        "coupons": 12,
    }
    assert counts["certifications"] == {
        "awarded_certifications": 101,
        "certifications": 100,
        "paths_users": 0,
        "registrations": 1,
        "trainings": 42,
        "users": 250,
    }
    assert counts["social_insights"] == {
        "media": 100,
        "media_insights": 101,
        "stories": 0,
        "user_insights": 1,
        "story_insights": 250,
        "users": 3,
        "user_lifetime_insights": 199,
    }
    assert counts["incidents"] == {"users": 26, "teams": 25, "services": 0, "integrations": 1, "incidents": 60, "alerts": 75}
    assert counts["operations"] == {
        "clients": 1,
        "locations": 12,
        "rows": 0,
        "users": 30,
        "workers": 45,
        "worker_groups": 4,
        "tasks": 80,
        "task_groups": 6,
        "labels": 9,
        "varieties": 15,
        "registrations_initial": 10001,
        "registrations_incremental": 10001,
        "sessions_initial": 10000,
        "sessions_incremental": 10000,
    }


def test_data_is_deterministic():
    a, b = D.DataStore(bench_records=5), D.DataStore(bench_records=5)
    for api in PRESETS:
        for key in D.APIS[api].endpoints:
            assert a.snapshot(api, key)[0] == b.snapshot(api, key)[0]
    assert a.advance("operations") == b.advance("operations")
    assert a.snapshot("operations", "sessions") == b.snapshot("operations", "sessions")
    sessions = a.snapshot("operations", "sessions")[0]
    assert sessions[0]["updated_at"] == "2024-01-01T00:01:00Z"
    assert D.APIS["social_insights"].endpoints["media"].make_record(1)["id"] == "17900000000000001"
    assert D.APIS["incidents"].endpoints["users"].make_record(1)["id"] == "PUSR00001"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", D.APIS["learning"].endpoints["orders"].make_record(3)["created_at"])


# ---------------------------------------------------------------------------
# auth
# ---------------------------------------------------------------------------

AUTH_PATHS = {
    "learning": "/v1/users",
    "certifications": "/v1/users",
    "social_insights": "/v1/users",
    "incidents": "/v2/users",
    "operations": "/v1/master/client",
    "bench": "/v1/items",
}


@pytest.mark.parametrize("api", list(AUTH_PATHS))
def test_auth_enforced(sb, http, api):
    url = sb.base_url(api) + AUTH_PATHS[api]
    missing = http.get(url, timeout=TIMEOUT)
    assert missing.status_code == 401
    assert missing.json() == {"error": "unauthorized"}
    wrong = http.get(url, timeout=TIMEOUT, **auth(api, "nope"))
    assert wrong.status_code == 401
    ok = http.get(url, timeout=TIMEOUT, **auth(api))
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    "api,kwargs",
    [
        ("learning", {"headers": {"Authorization": f"Bearer {SECRET}"}}),
        ("learning", {"params": {"api_key": SECRET}}),
        ("learning", {"cookies": {"api_key": SECRET}}),
        ("certifications", {"headers": {"api_key": SECRET}}),
        ("certifications", {"headers": {"Authorization": SECRET}}),
        ("social_insights", {"headers": {"api_key": SECRET}}),
        ("social_insights", {"headers": {"Authorization": f"Bearer {SECRET}"}}),
        ("incidents", {"headers": {"Authorization": f"Bearer {SECRET}"}}),
        ("operations", {"params": {"api_key": SECRET}}),
    ],
)
def test_only_the_presets_auth_mechanism_is_accepted(sb, http, api, kwargs):
    resp = http.get(sb.base_url(api) + AUTH_PATHS[api], timeout=TIMEOUT, **kwargs)
    assert resp.status_code == 401


def test_unknown_paths_are_404(sb, http):
    assert get(http, sb, "learning", "/v1/nothing").status_code == 404
    resp = http.get(sb.url + "/nowhere/v1/x", timeout=TIMEOUT)
    assert resp.status_code == 404 and resp.json() == {"error": "not found"}
    assert http.get(sb.url + "/", timeout=TIMEOUT).status_code == 404


# ---------------------------------------------------------------------------
# pagination boundaries
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,page,expected",
    [
        ("/v1/courses", 1, 0),
        ("/v1/users", 1, 1),
        ("/v1/users", 2, 0),
        ("/v1/promotions", 1, 250),
        ("/v1/promotions", 2, 0),
        ("/v1/collections", 1, 250),
        ("/v1/collections", 2, 1),
        ("/v1/collections", 3, 0),
        ("/v1/enrollments", 3, 100),
        ("/v1/orders", 2, 250),
        ("/v1/orders", 3, 0),
        ("/v1/coupons", 99, 0),
    ],
)
def test_learning_pages(sb, http, path, page, expected):
    body = get_json(http, sb, "learning", path, {"page": page, "limit": 7, "per_page": 3})
    assert len(body["items"]) == expected
    assert body["meta"] == {"page": page, "per_page": 250}
    assert set(body) == {"items", "meta"}


def test_learning_first_page_is_default(sb, http):
    body = get_json(http, sb, "learning", "/v1/collections")
    assert [r["id"] for r in body["items"]] == list(range(1, 251))
    assert get(http, sb, "learning", "/v1/collections", {"page": 0}).status_code == 400
    assert get(http, sb, "learning", "/v1/collections", {"page": "x"}).status_code == 400


@pytest.mark.parametrize(
    "resource,page,per_page,expected,meta_per_page",
    [
        ("awarded_certifications", 1, 100, 100, 100),
        ("awarded_certifications", 2, 100, 1, 100),
        ("certifications", 1, 100, 100, 100),
        ("certifications", 2, 100, 0, 100),
        ("paths_users", 1, 100, 0, 100),
        ("registrations", 1, 100, 1, 100),
        ("users", 3, 100, 50, 100),
        ("users", 2, 10, 10, 10),
        ("users", 1, 1000, 100, 100),
    ],
)
def test_certifications_pages(sb, http, resource, page, per_page, expected, meta_per_page):
    body = get_json(http, sb, "certifications", f"/v1/{resource}", {"page": page, "per_page": per_page})
    assert len(body["data"][resource]) == expected
    assert body["meta"] == {"page": page, "per_page": meta_per_page}


def test_certifications_per_page_honoured(sb, http):
    body = get_json(http, sb, "certifications", "/v1/users", {"page": 3, "per_page": 10})
    assert [u["id"] for u in body["data"]["users"]] == list(range(21, 31))


@pytest.mark.parametrize(
    "resource,offset,limit,expected,echo_limit",
    [
        ("media", 0, 100, 100, 100),
        ("media", 100, 100, 0, 100),
        ("media_insights", 100, 100, 1, 100),
        ("stories", 0, 100, 0, 100),
        ("user_insights", 0, 100, 1, 100),
        ("story_insights", 200, 100, 50, 100),
        ("user_lifetime_insights", 100, 100, 99, 100),
        ("users", 1, 1, 1, 1),
        ("media", 0, 500, 100, 100),
    ],
)
def test_social_offsets(sb, http, resource, offset, limit, expected, echo_limit):
    body = get_json(http, sb, "social_insights", f"/v1/{resource}", {"offset": offset, "limit": limit})
    assert len(body["data"]) == expected
    assert body["paging"] == {"offset": offset, "limit": echo_limit}
    assert set(body) == {"data", "paging"}


def test_social_ids_are_digit_strings(sb):
    for resource in D.PRESET_RESOURCES["social_insights"]:
        for rid in sb.ids("social_insights", resource):
            assert isinstance(rid, str) and rid.isdigit()


@pytest.mark.parametrize(
    "resource,first_page",
    [
        ("users", 25),
        ("teams", 25),
        ("services", 0),
        ("integrations", 1),
        ("incidents", 25),
        ("alerts", 25),
    ],
)
def test_incidents_first_pages(sb, http, resource, first_page):
    path = D.APIS["incidents"].endpoints[resource].path
    body = get_json(http, sb, "incidents", path)
    assert len(body["data"]) == first_page
    count = sb.counts()["incidents"][resource]
    if count > 25:
        assert body["paging"]["next"]
    else:
        assert body["paging"] == {}


def test_incidents_next_forms(sb, http):
    users = get_json(http, sb, "incidents", "/v2/users")
    nxt = users["paging"]["next"]
    assert nxt.startswith(sb.url + "/incidents/v2/users?cursor=")
    page2 = http.get(nxt, headers={"api_key": SECRET}, timeout=TIMEOUT).json()
    assert [u["id"] for u in page2["data"]] == ["PUSR00026"] and page2["paging"] == {}

    alerts = get_json(http, sb, "incidents", "/v2/alerts")
    token = alerts["paging"]["next"]
    assert token and "/" not in token and not token.startswith("http")  # a bare cursor
    page2 = http.get(
        sb.base_url("incidents") + "/v2/alerts", params={"cursor": token}, headers={"api_key": SECRET}, timeout=TIMEOUT
    ).json()
    assert [a["id"] for a in page2["data"]][0] == "PALR00026"

    incidents = get_json(http, sb, "incidents", "/v1/incidents")
    nxt = incidents["paging"]["next"]
    assert nxt.startswith("/incidents/v1/incidents?cursor=")
    page2 = http.get(sb.url + nxt, headers={"api_key": SECRET}, timeout=TIMEOUT).json()
    assert len(page2["data"]) == 25
    assert page2["paging"]["next"].startswith("/incidents/v1/incidents?cursor=")
    page3 = http.get(sb.url + page2["paging"]["next"], headers={"api_key": SECRET}, timeout=TIMEOUT).json()
    assert len(page3["data"]) == 10 and page3["paging"] == {}

    # teams has exactly one page: no next at all
    assert get_json(http, sb, "incidents", "/v2/teams")["paging"] == {}

    # bare-token endpoints: never enough records for a next, but the token form is accepted
    body = get_json(http, sb, "incidents", "/v2/integrations", {"cursor": encode_cursor(0)})
    assert len(body["data"]) == 1 and body["paging"] == {}
    assert D.APIS["incidents"].endpoints["services"].next_form == "token"
    assert D.APIS["incidents"].endpoints["integrations"].next_form == "token"
    # any resource accepts its cursor as a plain query parameter
    token = users["paging"]["next"].split("cursor=")[1]
    page2 = get_json(http, sb, "incidents", "/v2/users", {"cursor": token})
    assert page2["data"][0]["id"] == "PUSR00026"
    assert get(http, sb, "incidents", "/v2/users", {"cursor": "!!bogus"}).status_code == 400


def test_operations_master_single_page(sb, http):
    for resource, key in D.PRESET_RESOURCES["operations"].items():
        ep = D.APIS["operations"].endpoints[key]
        if ep.transactional:
            continue
        body = get_json(http, sb, "operations", ep.path, {"offset": 1, "limit": 1, "page": 2})
        assert set(body) == {"data"}
        assert len(body["data"]) == sb.counts()["operations"][resource]


@pytest.mark.parametrize(
    "path,params,expected,total",
    [
        ("/v1/transactional/registrations", {}, 10001, 10001),
        ("/v1/transactional/registrations", {"offset": 0, "limit": 10000}, 10000, 10001),
        ("/v1/transactional/registrations", {"offset": 10000, "limit": 10000}, 1, 10001),
        ("/v1/transactional/registrations", {"offset": 10001, "limit": 10000}, 0, 10001),
        ("/v1/transactional/registrations", {"offset": 0, "limit": 50000}, 10000, 10001),
        ("/v1/transactional/sessions", {"offset": 0, "limit": 10000}, 10000, 10000),
        ("/v1/transactional/sessions", {"offset": 10000, "limit": 10000}, 0, 10000),
        ("/v1/transactional/sessions", {"offset": 9990}, 10, 10000),
        ("/v1/transactional/sessions", {"updated_since": "2024-01-07T22:30:00Z"}, 10, 10000),
    ],
)
def test_operations_transactional_paging(sb, http, path, params, expected, total):
    body = get_json(http, sb, "operations", path, params)
    assert len(body["data"]) == expected
    assert body["total"] == total if "updated_since" not in params else expected
    ids = [r["id"] for r in body["data"]]
    assert ids == sorted(ids)


def test_transactional_updated_at_initially_increasing(sb):
    recs = sb.records("operations", "registrations_initial")
    stamps = [r["updated_at"] for r in recs]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert stamps[0] == "2024-01-01T00:01:00Z"


def test_bench(sb, http):
    body = get_json(http, sb, "bench", "/v1/items", {"offset": 2400, "limit": 5000})
    assert body["total"] == 2500 and len(body["data"]) == 100
    assert body["data"][0]["id"] == 2401
    first = body["data"][0]
    assert list(first) == ["id", "name", "email", "created_at", "amount", "quantity", "active", "tags", "address"]
    assert isinstance(first["amount"], float) and isinstance(first["tags"], list)
    assert set(first["address"]) == {"city", "zip"}
    assert len(get_json(http, sb, "bench", "/v1/items", {"limit": 5000})["data"]) == 1000
    assert sb.ids("bench", "items")[-1] == 2500
    assert "bench" not in sb.counts()


# ---------------------------------------------------------------------------
# advance / incremental
# ---------------------------------------------------------------------------


def test_advance_and_updated_since(http):
    path = "/v1/transactional/registrations"
    with SandboxServer(secret=SECRET, port=0, bench_records=10) as fresh:
        before = fresh.records("operations", "registrations_initial")
        high_water = max(r["updated_at"] for r in before)
        assert get_json(http, fresh, "operations", path, {"updated_since": high_water}) == {"data": [], "total": 0}
        # warm the cache so advance must invalidate it
        assert len(get_json(http, fresh, "operations", path)["data"]) == 10001

        result = fresh.advance("operations")
        assert set(result) == {"registrations", "sessions"}
        reg = result["registrations"]
        assert reg["new"] == [10002, 10003, 10004]
        assert len(reg["updated"]) == 2 and all(1 <= i <= 10001 for i in reg["updated"])
        assert result["sessions"]["new"] == [10001, 10002, 10003]

        counts = fresh.counts()["operations"]
        assert counts["registrations_initial"] == counts["registrations_incremental"] == 10004
        assert counts["sessions_initial"] == counts["sessions_incremental"] == 10003

        body = get_json(http, fresh, "operations", path, {"updated_since": high_water})
        changed = sorted(reg["new"] + reg["updated"])
        assert [r["id"] for r in body["data"]] == changed and body["total"] == 5
        assert all(r["updated_at"] > high_water for r in body["data"])
        old = {r["id"]: r for r in before}
        for r in body["data"]:
            if r["id"] in old:
                assert r != old[r["id"]]

        # same cut-off written with an offset / as a naive timestamp
        hw_offset = high_water.replace("Z", "+00:00")
        assert get_json(http, fresh, "operations", path, {"updated_since": hw_offset})["total"] == 5
        assert get_json(http, fresh, "operations", path, {"updated_since": high_water.rstrip("Z")})["total"] == 5
        raw_plus = http.get(
            fresh.base_url("operations") + path + "?updated_since=" + hw_offset, headers={"api_key": SECRET}, timeout=TIMEOUT
        )
        assert raw_plus.json()["total"] == 5
        # offset/limit apply to the matching records
        paged = get_json(http, fresh, "operations", path, {"updated_since": high_water, "offset": 4, "limit": 10})
        assert [r["id"] for r in paged["data"]] == changed[4:] and paged["total"] == 5
        full = get_json(http, fresh, "operations", path)
        assert len(full["data"]) == 10004 and full["total"] == 10004

        high_water2 = max(r["updated_at"] for r in body["data"])
        second = fresh.advance("operations")["registrations"]
        assert second["new"] == [10005, 10006, 10007]
        assert set(second["updated"]).isdisjoint(reg["updated"])
        body2 = get_json(http, fresh, "operations", path, {"updated_since": high_water2})
        assert [r["id"] for r in body2["data"]] == sorted(second["new"] + second["updated"])

        sessions_hw = D.iso(D.EPOCH_2024 + 10000 * 60)  # initial updated_at of session 10000
        sessions = get_json(http, fresh, "operations", "/v1/transactional/sessions", {"updated_since": sessions_hw})
        assert sessions["total"] == 10  # two advances: 2 x (3 new + 2 updated)
        assert get(http, fresh, "operations", path, {"updated_since": "yesterday"}).status_code == 400
        assert fresh.advance("learning") == {}
        with pytest.raises(KeyError):
            fresh.advance("nope")


# ---------------------------------------------------------------------------
# faults
# ---------------------------------------------------------------------------

FAULT_PATH = "/learning/v1/users"


@pytest.mark.parametrize(
    "kind,status",
    [
        ("500", 500),
        ("502", 502),
        ("503", 503),
        ("504", 504),
        ("401", 401),
        ("403", 403),
        ("429", 429),
    ],
)
def test_status_faults(sb, http, kind, status):
    sb.inject_fault(FAULT_PATH, kind)
    resp = get(http, sb, "learning", "/v1/users")
    assert resp.status_code == status
    assert "error" in resp.json()
    assert "Retry-After" not in resp.headers
    assert get(http, sb, "learning", "/v1/users").status_code == 200


# A fixed HTTP-date: the sandbox echoes it, and a test id built from the clock would differ between
# the processes that collect the suite (pytest-xdist).
@pytest.mark.parametrize("retry_after", [2, "Wed, 21 Oct 2037 07:28:00 GMT"])
def test_429_retry_after(sb, http, retry_after):
    sb.inject_fault(FAULT_PATH, "429", retry_after=retry_after)
    resp = get(http, sb, "learning", "/v1/users")
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == str(retry_after)


def test_fault_count_prefix_and_precedence_over_auth(sb, http):
    sb.inject_fault("/learning/v1/", "503", count=2)
    # another API's path is not affected
    assert get(http, sb, "certifications", "/v1/users").status_code == 200
    # faults are checked before auth
    assert get(http, sb, "learning", "/v1/courses", creds=False).status_code == 503
    assert get(http, sb, "learning", "/v1/orders").status_code == 503
    assert get(http, sb, "learning", "/v1/orders").status_code == 200
    assert get(http, sb, "learning", "/v1/courses", creds=False).status_code == 401
    assert sb.pending_faults() == []


def test_reset_fault(sb, http):
    sb.inject_fault(FAULT_PATH, "reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        get(http, sb, "learning", "/v1/users")
    assert get(http, sb, "learning", "/v1/users").status_code == 200


def test_slow_fault(sb, http):
    sb.inject_fault(FAULT_PATH, "slow", delay=0.3)
    resp = get(http, sb, "learning", "/v1/users")
    assert resp.status_code == 200 and len(resp.json()["items"]) == 1  # late, but the page
    sb.inject_fault(FAULT_PATH, "slow", delay=5)
    with pytest.raises(requests.exceptions.ReadTimeout):  # still waiting when the client gives up
        get(http, sb, "learning", "/v1/users", timeout=0.5)


def test_html_fault(sb, http):
    sb.inject_fault(FAULT_PATH, "html")
    resp = get(http, sb, "learning", "/v1/users")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        resp.json()


def test_fault_kinds_validated(sb):
    assert set(FAULT_KINDS) == {"429", "500", "502", "503", "504", "401", "403", "reset", "slow", "html", "truncated", "cut"}
    with pytest.raises(ValueError):
        sb.inject_fault("/x", "418")


# ---------------------------------------------------------------------------
# request log, control endpoints, transport
# ---------------------------------------------------------------------------


def test_request_log(sb, http):
    sb.clear_requests()
    get(http, sb, "social_insights", "/v1/media", {"offset": 0, "limit": 100}, headers={"X-Trace": "abc"})
    http.get(sb.url + "/_sandbox/health", timeout=TIMEOUT)  # control requests are not logged
    (entry,) = sb.requests
    assert isinstance(entry, RequestLog)
    assert entry.method == "GET" and entry.path == "/social_insights/v1/media"
    assert entry.query == {"api_key": [SECRET], "offset": ["0"], "limit": ["100"]}
    assert entry.headers["x-trace"] == "abc" and entry.body == b""
    assert all(k == k.lower() for k in entry.headers)
    sb.clear_requests()
    assert sb.requests == []


def test_control_endpoints(sb, http):
    base = sb.url + "/_sandbox"
    assert http.get(base + "/health", timeout=TIMEOUT).json() == {"ok": True}
    assert http.get(base + "/counts", timeout=TIMEOUT).json() == sb.counts()
    resp = http.post(base + "/fault", params={"path": FAULT_PATH, "kind": "429", "count": 2, "retry_after": 1}, timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text
    http.post(base + "/requests/clear", timeout=TIMEOUT)
    for _ in range(2):
        r = get(http, sb, "learning", "/v1/users")
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert get(http, sb, "learning", "/v1/users").status_code == 200
    logged = http.get(base + "/requests", timeout=TIMEOUT).json()
    assert [e["path"] for e in logged] == [FAULT_PATH] * 3
    assert set(logged[0]) == {"method", "path", "query", "headers"}
    assert logged[0]["headers"]["api_key"] == SECRET
    assert http.post(base + "/requests/clear", timeout=TIMEOUT).json() == {"ok": True}
    assert http.get(base + "/requests", timeout=TIMEOUT).json() == []
    # validation
    assert http.post(base + "/fault", params={"path": "/x", "kind": "nope"}, timeout=TIMEOUT).status_code == 400
    assert http.post(base + "/advance", params={"api": "nope"}, timeout=TIMEOUT).status_code == 400
    assert http.get(base + "/advance", timeout=TIMEOUT).status_code == 405
    assert http.get(base + "/nothing", timeout=TIMEOUT).status_code == 404
    records = http.get(base + "/records", params={"api": "learning", "resource": "users"}, timeout=TIMEOUT).json()
    assert records == sb.records("learning", "users")


def test_keep_alive_and_content_length(sb):
    conn = HTTPConnection("127.0.0.1", sb.port, timeout=TIMEOUT)
    try:
        for page in (1, 2, 3):
            conn.request("GET", f"/learning/v1/collections?page={page}", headers={"api_key": SECRET})
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200
            assert int(resp.getheader("Content-Length")) == len(body)
            assert resp.getheader("Connection") is None
            assert resp.version == 11
        first_sock = conn.sock
        conn.request("GET", "/nope")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 404 and conn.sock is first_sock
    finally:
        conn.close()


def test_latency_delays_every_api_request_but_not_the_control_endpoints(sb):
    sb.latency_ms = 5000
    try:
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(sb.base_url("learning") + "/v1/users", headers={"api_key": SECRET}, timeout=0.5)
        assert requests.get(sb.url + "/_sandbox/health", timeout=TIMEOUT).json() == {"ok": True}
    finally:
        sb.latency_ms = 0


def test_a_request_is_answered_while_another_waits(sb, http):
    """One thread per connection: requests wait (latency, a slow fault) side by side, not in turn."""
    sb.inject_fault(FAULT_PATH, "slow", delay=30)
    sb.clear_requests()
    slow_answered = threading.Event()

    def slow_request() -> None:
        with contextlib.suppress(requests.RequestException), requests.Session() as session:
            get(session, sb, "learning", "/v1/users", timeout=60)
        slow_answered.set()

    threading.Thread(target=slow_request, daemon=True).start()
    wait_for(lambda: any(r.path == FAULT_PATH for r in sb.requests), "the slow request reached the sandbox")
    assert get(http, sb, "certifications", "/v1/users").status_code == 200
    assert not slow_answered.is_set()


def test_many_small_pages_add_up_to_the_total(sb, http):
    # How fast the sandbox serves them is a benchmark's business (benchmarks/bench.py), not a test's.
    total = 0
    for offset in range(0, 2500, 100):
        total += len(get_json(http, sb, "bench", "/v1/items", {"offset": offset, "limit": 100})["data"])
    assert total == 2500


def test_refuses_non_loopback_host():
    with pytest.raises(ValueError):
        SandboxServer(host="0.0.0.0")


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("SANDBOX_SECRET", None)
    return subprocess.Popen(
        [sys.executable, "-m", "tap_restgeneric.sandbox", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_starts_serves_and_stops_on_sigterm():
    proc = _cli("--port", "0", "--bench-records", "10", "--secret", "cli-secret")
    try:
        line_holder: list[str] = []
        reader = threading.Thread(target=lambda: line_holder.append(proc.stdout.readline()))
        reader.start()
        reader.join(timeout=10)
        assert line_holder, "no listening line within 10 s"
        match = re.fullmatch(r"sandbox listening on (http://127\.0\.0\.1:(\d+))\n", line_holder[0])
        assert match, line_holder
        url = match.group(1)
        assert int(match.group(2)) > 0
        assert requests.get(url + "/_sandbox/health", timeout=TIMEOUT).json() == {"ok": True}
        r = requests.get(url + "/bench/v1/items", headers={"api_key": "cli-secret"}, timeout=TIMEOUT)
        assert r.json()["total"] == 10
        adv = requests.post(url + "/_sandbox/advance", params={"api": "operations"}, timeout=TIMEOUT).json()
        assert adv["registrations"]["new"] == [10002, 10003, 10004]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_refuses_non_loopback_host():
    proc = _cli("--host", "0.0.0.0", "--port", "0")
    try:
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert "loopback" in err and "listening" not in out
