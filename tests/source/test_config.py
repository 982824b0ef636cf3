"""Table-driven config validation: valid configs and invalid ones with their exact messages."""

from __future__ import annotations

import json

import pytest

from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.source import load_source
from tests.support import last_line, preset_config, run_cli


def one(**endpoint):
    return {"client": {"base_url": "http://127.0.0.1:9"}, "resources": [{"name": "r", "endpoint": {"path": "/r", **endpoint}}]}


def src(**kw):
    return {"client": {"base_url": "http://127.0.0.1:9", **kw.pop("client", {})}, **kw}


INVALID = [
    (
        {},
        (
            "no source: set exactly one of the settings `api` (a preset: learning, certifications, social_insights, incidents, operations), `source` (an inline config) or `source_file` (a YAML or JSON file), "
            'e.g. {"api": "learning"} or {"source_file": "my_api.yaml"} in the --config file'
        ),
    ),
    (
        {"api": "learning", "source": one()},
        "settings `api` and `source` are both set: set exactly one of `api`, `source`, `source_file`",
    ),
    ({"api": "nope"}, "api: 'nope' is not one of learning, certifications, social_insights, incidents, operations"),
    ({"source_file": "/nonexistent/source.yaml"}, "source_file: no such file '/nonexistent/source.yaml'"),
    (
        {"source": src(resources=["a", "b", "c", {"name": "d", "endpoint": {"path": "/d", "paginator": {"type": "pages"}}}])},
        "resources[3].endpoint.paginator.type: 'pages' is not one of single_page, page_number, offset, cursor, json_link, header_link, header_cursor, auto, json_response",
    ),
    (
        {"source": one(paginator={"type": "page_number", "page_parm": "p"})},
        "resources[0].endpoint.paginator.page_parm: unknown key for paginator type 'page_number' (valid keys: type, base_page, has_more_path, limit, limit_param, maximum_page, page, page_body_path, page_param, start_from_page, stop_after_empty_page, total_path)",
    ),
    ({"source": one(paginator="offset")}, "resources[0].endpoint.paginator.limit: required for paginator type 'offset'"),
    (
        {"source": src(client={"auth": {"type": "oauth2"}}, resources=["a"])},
        "client.auth.type: 'oauth2' is not one of api_key, bearer, http_basic, oauth2_client_credentials, oauth2_refresh_token, session_login, jwt, selective",
    ),
    (
        {"source": src(client={"auth": {"type": "api_key", "api_key": "k1234", "location": "body"}}, resources=["a"])},
        "client.auth.location: 'body' is not one of header, query, param, cookie",
    ),
    (
        {"source": src(client={"auth": {"type": "bearer", "token": "{{ secrets.token }}"}}, resources=["a"])},
        "client.auth.token: secret 'token' is not set (set it in the `secrets` setting as secrets.token)",
    ),
    (
        {"source": src(client={"auth": {"type": "http_basic", "password": "pw12"}}, resources=["a"])},
        "client.auth.username: required for auth type 'http_basic'",
    ),
    (
        {"source": one(paginator={"type": "cursor", "cursor_value": "{{ resp.next }}"})},
        "resources[0].endpoint.paginator.cursor_value: template uses undeclared name 'resp' (available here: config, headers, last_record, response, secrets)",
    ),
    (
        {"source": one(params={"since": "{{ response.x }}"})},
        "resources[0].endpoint.params.since: template uses undeclared name 'response' (available here: config, incremental, partition, resources, secrets)",
    ),
    (
        {"source": src(resources=[{"name": "a", "endpont": "/a"}])},
        (
            "resources[0].endpont: unknown key (valid keys: columns, endpoint, error_handler, file_format, include_from_parent, max_table_nesting, merge_key, name, "
            "nested_hints, parallelized, parent_table_name, partitions, primary_key, processing_steps, references, schema, schema_contract, selected, "
            "table_format, table_name, write_disposition)"
        ),
    ),
    ({"source": src(resources=[])}, "resources: at least 1 item(s) required, got none"),
    ({"source": {"resources": ["a"]}}, "client.base_url: required (or set the `base_url` setting)"),
    ({"source": src(resources=["a", "a"])}, "resources[1].name: 'a' is already the name of resources[0]"),
    (
        {"source": src(resources=[{"name": "a", "write_disposition": "upsert"}])},
        "resources[0].write_disposition: 'upsert' is not one of append, replace, merge, skip",
    ),
    ({"source": one(data_selector=5)}, "resources[0].endpoint.data_selector: expected string or array or null, got integer 5"),
    (
        {"source": one(incremental={"cursor_path": "meta.updated", "start_param": "since"})},
        "resources[0].endpoint.incremental.cursor_path: 'meta.updated': the cursor must be a top-level field of the record (it becomes the stream's replication key)",
    ),
    (
        {"source": one(params={"since": {"type": "incremental"}})},
        "resources[0].endpoint.params.since.cursor_path: required key is missing",
    ),
    (
        {"source": src(resources=[{"name": "9 bad"}])},
        "resources[0].name: '9 bad' is not a valid name (letters, digits and _, not starting with a digit)",
    ),
    (
        {"source": one(error_handler={"max_retries": -1})},
        "resources[0].endpoint.error_handler.max_retries: -1 is less than the minimum of 0",
    ),
]


@pytest.mark.parametrize(("settings", "message"), INVALID, ids=[m.split(":")[0] for _, m in INVALID])
def test_invalid_config_is_reported_with_its_path(settings, message):
    with pytest.raises(SourceConfigError) as info:
        load_source(settings)
    assert str(info.value) == message


def test_every_problem_is_reported_at_once():
    settings = {"source": src(resources=[{"name": "a", "endpoint": {"paginator": "pages"}}, {"name": "b", "primary_key": 3}])}
    with pytest.raises(SourceConfigError) as info:
        load_source(settings)
    assert info.value.problems == [
        "resources[0].endpoint.paginator.type: 'pages' is not one of single_page, page_number, offset, cursor, json_link, header_link, header_cursor, auto, json_response",
        "resources[1].primary_key: expected string or array, got integer 3",
    ]


@pytest.mark.parametrize(
    ("settings", "message"),
    [INVALID[4], INVALID[9], INVALID[0]],
    ids=["paginator-type", "missing-secret", "no-source"],
)
def test_cli_reports_config_errors_on_one_line_with_nonzero_exit(tmp_path, settings, message):
    for args in (["--discover"], []):
        out = run_cli(args, settings, tmp_path)
        assert out.returncode == 1
        assert last_line(out.stderr) == f"tap-restgeneric: config error: {message}"
        assert "Traceback" not in out.stderr
        assert out.stdout == ""


def test_source_file_yaml_with_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("client:\n  base_url: http://x\nresources: [a\n")
    with pytest.raises(SourceConfigError) as info:
        load_source({"source_file": str(path)})
    assert str(info.value).startswith(f"source_file: '{path}' is not valid YAML or JSON: ")
    assert "line 4" in str(info.value)


def test_dlt_shorthands_expand_to_full_resources():
    source = load_source(
        {
            "source": {
                "client": {"base_url": "http://127.0.0.1:9/", "paginator": "header_link"},
                "resource_defaults": {
                    "primary_key": ["org", "id"],
                    "write_disposition": {"disposition": "merge", "strategy": "upsert"},
                },
                "resources": [
                    "issues",
                    {"name": "events", "endpoint": "repos/events"},
                    {
                        "name": "pulls",
                        "endpoint": {"path": "pulls", "paginator": "single_page", "method": "post", "json": {"q": 1}},
                    },
                    {
                        "name": "tags",
                        "endpoint": {
                            "params": {"since": {"type": "incremental", "cursor_path": "updated", "initial_value": "2024-01-01"}}
                        },
                    },
                ],
            }
        }
    )
    assert source.base_url == "http://127.0.0.1:9"
    by_name = {r["name"]: r for r in source.resources}
    assert by_name["issues"]["endpoint"]["path"] == "issues"
    assert by_name["issues"]["endpoint"]["paginator"] == {"type": "header_link"}
    assert by_name["events"]["endpoint"]["path"] == "repos/events"
    assert by_name["pulls"]["endpoint"]["paginator"] == {"type": "single_page"}
    assert by_name["pulls"]["endpoint"]["method"] == "POST"
    assert by_name["pulls"]["primary_key"] == ["org", "id"]
    assert by_name["pulls"]["write_disposition"] == "merge"
    assert by_name["tags"]["endpoint"]["incremental"] == {
        "start_param": "since",
        "cursor_path": "updated",
        "initial_value": "2024-01-01",
    }
    assert by_name["tags"]["endpoint"]["params"] == {}


def test_resource_defaults_deep_merge_and_error_handler_levels():
    source = load_source(
        {
            "source": {
                "client": {"base_url": "http://127.0.0.1:9", "error_handler": {"max_retries": 1}},
                "resource_defaults": {
                    "endpoint": {"params": {"per_page": 50, "sort": "id"}, "error_handler": {"backoff_factor": 0.5}}
                },
                "resources": [
                    {"name": "a", "endpoint": {"params": {"sort": "name"}}, "error_handler": {"max_retries": 7}},
                    {"name": "b", "endpoint": {"error_handler": {"retry_on_status_codes": [503]}}},
                ],
            }
        }
    )
    a, b = source.resources
    assert a["endpoint"]["params"] == {"per_page": 50, "sort": "name"}
    assert a["endpoint"]["error_handler"] == {
        "retry_on_status_codes": [429, 500, 502, 503, 504],
        "max_retries": 1,
        "backoff_factor": 0.5,
        "max_retry_after": 60,
    }
    assert b["endpoint"]["error_handler"]["retry_on_status_codes"] == [503]
    assert a["primary_key"] == [] and a["write_disposition"] == "append"


def test_literal_secret_and_base_url_setting_override():
    source = load_source(
        {
            "base_url": "http://127.0.0.1:1234/api/",
            "source": {
                "client": {"base_url": "https://api.example.com", "auth": {"type": "bearer", "token": "literal-token"}},
                "resources": ["a"],
            },
        }
    )
    assert source.base_url == "http://127.0.0.1:1234/api"
    assert source.auth == {"type": "bearer", "token": "literal-token"}
    assert "literal-token" in source.secret_values


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"max_concurrency": 0}, "max_concurrency: must be at least 1, got 0"),
        ({"max_concurrency": -3}, "max_concurrency: must be at least 1, got -3"),
        ({"request_timeout": -1}, "request_timeout: must be greater than 0, got -1"),
        ({"request_timeout": "0"}, "request_timeout: must be greater than 0, got 0"),
        ({"max_response_mb": 0}, "max_response_mb: must be greater than 0, got 0"),
        ({"max_requests_per_second": "-2"}, "max_requests_per_second: must be greater than 0, got -2"),
        ({"max_pages": 0}, "max_pages: must be at least 1, got 0"),
        ({"max_concurrency": "1.5"}, "max_concurrency: expected a whole number, got '1.5'"),
        ({"request_timeout": "soon"}, "request_timeout: expected a number, got 'soon'"),
        ({"max_pages": True}, "max_pages: expected a number, got True"),
        (
            {"start_date": "yesterday"},
            "start_date: 'yesterday' is not an ISO 8601 date or date-time (e.g. 2024-01-31 or 2024-01-31T00:00:00Z)",
        ),
        ({"user_agent": 5}, "user_agent: expected string, got 5"),
    ],
)
def test_settings_out_of_range_or_of_the_wrong_type_are_one_config_error_line(settings, expected, tmp_path):
    out = run_cli(["--discover"], {"api": "incidents", "secrets": {"api_token": "t0ken"}, **settings}, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == f"tap-restgeneric: config error: {expected}"
    assert "Traceback" not in out.stderr


def test_numeric_settings_work_as_strings_and_fractions(sandbox, tmp_path):
    config = preset_config(
        sandbox,
        "incidents",
        request_timeout="30",
        max_concurrency="2",
        max_requests_per_second=1000.5,
        max_response_mb="64.5",
        max_pages="100000",
    )
    out = run_cli([], config, tmp_path)
    assert out.returncode == 0, out.stderr[-1000:]
    assert sorted(out.ids("alerts")) == sorted(sandbox.ids("incidents", "alerts"))


def test_numeric_settings_from_the_environment(sandbox):
    env = {
        "TAP_RESTGENERIC_API": "incidents",
        "TAP_RESTGENERIC_BASE_URL": sandbox.base_url("incidents"),
        "TAP_RESTGENERIC_SECRETS": json.dumps({"api_token": sandbox.secret}),
        "TAP_RESTGENERIC_REQUEST_TIMEOUT": "30",
        "TAP_RESTGENERIC_MAX_CONCURRENCY": "3",
        "TAP_RESTGENERIC_MAX_REQUESTS_PER_SECOND": "500.5",
        "TAP_RESTGENERIC_START_DATE": "2024-01-01",
    }
    out = run_cli(["--config", "ENV"], env=env)
    assert out.returncode == 0, out.stderr[-1000:]
    assert sorted(out.ids("teams")) == sorted(sandbox.ids("incidents", "teams"))


def test_a_secret_per_environment_variable_with_config_env(sandbox):
    """TAP_RESTGENERIC_SECRETS_<NAME> is secrets.<name>, lower-cased as Meltano derives the variable
    of a sub-setting, over the same name in TAP_RESTGENERIC_SECRETS."""
    from tests.streams.test_parent_child import tracker_source

    source = tracker_source(sandbox)
    source["client"]["auth"]["token"] = "{{ secrets.tracker_token }}"
    env = {
        "TAP_RESTGENERIC_SOURCE": json.dumps(source),
        "TAP_RESTGENERIC_SECRETS": json.dumps({"tracker_token": "refused-value"}),
        "TAP_RESTGENERIC_SECRETS_TRACKER_TOKEN": sandbox.secret,
    }
    out = run_cli(["--config", "ENV"], env=env)
    assert out.returncode == 0, out.stderr[-1000:]
    assert sorted(out.ids("issues")) == sorted(issue["id"] for issue in sandbox.tracker.issues())
    missing = run_cli(["--config", "ENV"], env={"TAP_RESTGENERIC_SOURCE": json.dumps(source)})
    assert last_line(missing.stderr) == (
        "tap-restgeneric: config error: client.auth.token: secret 'tracker_token' is not set "
        "(set it in the `secrets` setting as secrets.tracker_token)"
    )


def test_a_relative_source_file_is_found_in_meltanos_project_root_or_the_current_directory(sandbox, tmp_path):
    from tests.streams.test_parent_child import config_for, tracker_source

    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "sources").mkdir(parents=True)
    elsewhere.mkdir()
    (project / "sources" / "tracker.json").write_text(json.dumps(tracker_source(sandbox)))
    config = {**config_for({}), "source": None, "source_file": "sources/tracker.json"}
    meltano = {"MELTANO_PROJECT_ROOT": str(project)}
    for cwd, env in ((project, {}), (elsewhere, meltano)):
        out = run_cli([], config, tmp_path, env=env, cwd=cwd)
        assert out.returncode == 0, (cwd, out.stderr[-1000:])
        assert out.ids("issues"), cwd
    config["source_file"] = "sources/missing.yaml"
    out = run_cli([], config, tmp_path, env=meltano, cwd=elsewhere)
    assert last_line(out.stderr) == (
        f"tap-restgeneric: config error: source_file: no such file '{project}/sources/missing.yaml' "
        "(sources/missing.yaml, relative to the Meltano project root)"
    )
    out = run_cli([], config, tmp_path, cwd=elsewhere)
    assert last_line(out.stderr) == (
        f"tap-restgeneric: config error: source_file: no such file '{elsewhere.resolve()}/sources/missing.yaml' "
        "(sources/missing.yaml, relative to the current directory)"
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"base_url": "api.example.com"},
            "base_url: 'api.example.com' is not an http(s) URL with a host (e.g. https://api.example.com/v1)",
        ),
        (
            {"base_url": "ftp://files.example.com"},
            "base_url: 'ftp://files.example.com' is not an http(s) URL with a host (e.g. https://api.example.com/v1)",
        ),
    ],
)
def test_a_base_url_without_scheme_is_a_config_error_before_any_request(settings, expected, tmp_path):
    out = run_cli(["--discover"], {"api": "incidents", "secrets": {"api_token": "t0ken"}, **settings}, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == f"tap-restgeneric: config error: {expected}"
