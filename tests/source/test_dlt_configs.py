"""Valid configs in dlt 1.31's documented forms are accepted, with dlt's meaning (beside the
invalid-config table in test_config.py). Each row: a resource (or source part) as dlt writes it,
and what the loaded source must say."""

from __future__ import annotations

import pytest

from tap_restgeneric.source import load_source

BASE = "https://api.example.com"


def loaded(resources: list, **client) -> list[dict]:
    source = {"client": {"base_url": BASE, **client}, "resources": resources}
    return load_source({"source": source, "secrets": {"token": "t0k3n-value"}}).resources


VALID = [
    ("a bare name", ["users"], lambda r: r[0]["name"] == "users" and r[0]["endpoint"]["written_path"] == "users"),
    ("a bare path", ["users/posts"], lambda r: r[0]["name"] == "users_posts"),
    ("an endpoint as a path", [{"name": "u", "endpoint": "v1/users"}], lambda r: r[0]["endpoint"]["written_path"] == "v1/users"),
    (
        "a paginator as a type name",
        [{"name": "u", "endpoint": {"path": "u", "paginator": "header_link"}}],
        lambda r: r[0]["endpoint"]["paginator"] == {"type": "header_link"},
    ),
    (
        "json_response, dlt's older json_link",
        [{"name": "u", "endpoint": {"paginator": {"type": "json_response", "next_url_path": "next"}}}],
        lambda r: r[0]["endpoint"]["paginator"]["type"] == "json_link",
    ),
    (
        "incremental in params",
        [
            {
                "name": "e",
                "endpoint": {"params": {"since": {"type": "incremental", "cursor_path": "ts", "initial_value": "2024-01-01"}}},
            }
        ],
        lambda r: r[0]["endpoint"]["incremental"]["start_param"] == "since",
    ),
    (
        "incremental with lag, ranges and end_value",
        [
            {
                "name": "e",
                "endpoint": {
                    "incremental": {
                        "cursor_path": "ts",
                        "start_param": "since",
                        "end_param": "until",
                        "initial_value": "2024-01-01",
                        "end_value": "2024-02-01",
                        "lag": 3600,
                        "range_start": "open",
                        "range_end": "closed",
                        "on_cursor_value_missing": "exclude",
                        "row_order": "asc",
                    }
                },
            }
        ],
        lambda r: r[0]["endpoint"]["incremental"]["lag"] == 3600,
    ),
    (
        "placeholders of a parent and of incremental",
        [
            {"name": "issues"},
            {
                "name": "comments",
                "endpoint": {
                    "path": "issues/{resources.issues.number}/comments",
                    "params": {"since": "{incremental.start_value}"},
                    "incremental": {"cursor_path": "updated_at", "initial_value": "2024-01-01"},
                },
                "include_from_parent": ["id"],
            },
        ],
        lambda r: r[1]["parent"].parent == "issues" and r[1]["parent"].include == ("id",),
    ),
    (
        "a resolve parameter",
        [
            {"name": "p"},
            {
                "name": "c",
                "endpoint": {"path": "p/{id}/c", "params": {"id": {"type": "resolve", "resource": "p", "field": "id"}}},
            },
        ],
        lambda r: r[1]["parent"].fields == (("id",),) and r[1]["endpoint"]["params"] == {},
    ),
    (
        "a parent after its child",
        [{"name": "c", "endpoint": "p/{resources.p.id}/c"}, {"name": "p"}],
        lambda r: r[0]["parent"].parent == "p",
    ),
    (
        "response actions",
        [
            {
                "name": "u",
                "endpoint": {
                    "response_actions": [{"status_code": 404, "action": "ignore"}, {"content": "none", "action": "ignore"}]
                },
            }
        ],
        lambda r: len(r[0]["endpoint"]["response_actions"]) == 2,
    ),
    (
        "a POST with a JSON body paged in it",
        [
            {
                "name": "s",
                "endpoint": {
                    "method": "POST",
                    "json": {"q": 1},
                    "paginator": {"type": "offset", "limit": 10, "offset_body_path": "from"},
                },
            }
        ],
        lambda r: r[0]["endpoint"]["method"] == "POST",
    ),
    (
        "a form body",
        [{"name": "f", "endpoint": {"method": "POST", "data": {"a": "1"}}}],
        lambda r: r[0]["endpoint"]["data"] == {"a": "1"},
    ),
    (
        "endpoint-level auth and the token shorthand",
        [{"name": "u", "endpoint": {"auth": {"token": "{{ secrets.token }}"}}}],
        lambda r: r[0]["endpoint"]["auth"] == {"type": "bearer", "token": "t0k3n-value"},
    ),
    (
        "a null paginator and data selector",
        [{"name": "u", "endpoint": {"paginator": None, "data_selector": None}}],
        lambda r: r[0]["endpoint"]["paginator"] == {"type": "auto"} and r[0]["endpoint"]["data_selector"] is None,
    ),
    (
        "path parameters from params",
        [{"name": "u", "endpoint": {"path": "orgs/{org}/users", "params": {"org": "acme", "per_page": 50}}}],
        lambda r: r[0]["endpoint"]["written_path"] == "orgs/{org}/users" and r[0]["endpoint"]["params"] == {"per_page": 50},
    ),
    (
        "loading hints",
        [
            {
                "name": "u",
                "columns": {"id": {"data_type": "bigint", "nullable": False}},
                "selected": False,
                "table_name": "people",
                "max_table_nesting": 1,
                "merge_key": "id",
                "table_format": "iceberg",
                "file_format": "parquet",
                "parallelized": True,
                "schema_contract": "evolve",
            }
        ],
        lambda r: r[0]["columns"] == {"id": {"type": ["integer"]}} and r[0]["selected"] is False,
    ),
    (
        "write dispositions in dlt's forms",
        [
            {"name": "a", "write_disposition": "append"},
            {"name": "b", "write_disposition": {"disposition": "merge", "strategy": "upsert"}},
            {"name": "c", "write_disposition": "replace"},
            {"name": "d", "write_disposition": "skip"},
        ],
        lambda r: [x["write_disposition"] for x in r] == ["append", "merge", "replace", "skip"] and r[3]["selected"] is False,
    ),
]


@pytest.mark.parametrize(("resources", "holds"), [row[1:] for row in VALID], ids=[row[0] for row in VALID])
def test_a_valid_dlt_config_is_accepted_with_dlts_meaning(resources, holds):
    assert holds(loaded(resources))


def test_client_auth_shorthand_and_oauth2_options():
    resources = load_source(
        {
            "source": {
                "client": {
                    "base_url": BASE,
                    "auth": {
                        "type": "oauth2_client_credentials",
                        "access_token_url": "https://auth.example.com/token",
                        "client_id": "id",
                        "client_secret": "{{ secrets.token }}",
                        "access_token_request_data": {"scope": "read"},
                        "default_token_expiration": 600,
                    },
                },
                "resources": ["u"],
            },
            "secrets": {"token": "t0k3n-value"},
        }
    )
    assert resources.auth is not None and resources.auth["client_secret"] == "t0k3n-value"
