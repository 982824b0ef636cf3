"""Reading Airbyte manifests: references, default types, $parameters and component paths.

Expected trees marked "CDK" were observed with airbyte-cdk 7.39.1 (ManifestReferenceResolver then
ManifestComponentTransformer, as ConcurrentDeclarativeSource runs them). A scratch comparison over
the 497 manifest-only connectors of airbytehq/airbyte at c27d1755 found the trees identical (less
``$path``)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tap_restgeneric.airbyte.manifest import (
    MAX_VALUES,
    PATH_KEY,
    ManifestError,
    is_manifest,
    iter_components,
    propagate_parameters,
    read_manifest,
    resolve_references,
)


def stream(**fields):
    return {"type": "DeclarativeStream", **fields}


def without_paths(tree):
    if isinstance(tree, dict):
        return {k: without_paths(v) for k, v in tree.items() if k != PATH_KEY}
    if isinstance(tree, list):
        return [without_paths(v) for v in tree]
    return tree


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"type": "DeclarativeSource", "streams": []}, True),
        ({"version": "6.44.0", "streams": []}, True),
        ({"version": "6.44.0", "dynamic_streams": []}, True),
        ({"version": "6.44.0", "check": {}}, False),
        ({"client": {"base_url": "https://api"}, "resources": ["issues"]}, False),
        ([{"type": "DeclarativeSource"}], False),
        ("type: DeclarativeSource", False),
    ],
)
def test_a_manifest_is_recognised_by_its_type_or_its_version_and_streams(document, expected):
    assert is_manifest(document) is expected


def test_a_ref_merges_the_referenced_object_under_the_objects_own_keys():
    # CDK: the object's own keys win, whole (no deep merge)
    resolved = resolve_references(
        {"definitions": {"base": {"a": 1, "b": {"x": 1}}}, "s": {"$ref": "#/definitions/base", "b": {"y": 2}, "c": 3}}
    )
    assert resolved["s"] == {"a": 1, "b": {"y": 2}, "c": 3}


def test_any_string_pointer_is_replaced_by_the_value_it_points_at_through_nested_references():
    resolved = resolve_references(
        {
            "definitions": {"url": "https://api.example.com", "requester": {"url_base": "#/definitions/url"}, "ids": [10, 20]},
            "streams": [
                {
                    "retriever": {"requester": "#/definitions/requester"},
                    "id": "#/definitions/ids/1",
                    "last": "#/definitions/ids/-1",
                }
            ],
        }
    )
    assert resolved["streams"] == [{"retriever": {"requester": {"url_base": "https://api.example.com"}}, "id": 20, "last": 20}]


def test_a_key_containing_a_slash_is_tried_whole_before_the_path_is_split():
    # CDK: "#/nested/path" reads the top-level key "nested/path" first
    resolved = resolve_references(
        {"nested": {"path": "first"}, "nested/path": "second", "v": "#/nested/path", "w": "#/nested/path/"}
    )
    assert (resolved["v"], resolved["w"]) == ("second", "first")


def test_the_older_ref_form_points_with_dots():
    resolved = resolve_references(
        {
            "definitions": {"requester": {"url_base": "https://api"}},
            "s": "*ref(definitions.requester)",
            "t": {"$ref": "*ref(definitions.requester)", "k": 1},
        }
    )
    assert resolved["s"] == {"url_base": "https://api"}
    assert resolved["t"] == {"url_base": "https://api", "k": 1}


def test_config_overrides_are_config_values_and_not_resolved():
    resolved = resolve_references(
        {"definitions": {"x": 1}, "c": {"config_overrides": {"k": "#/definitions/x"}}, "d": "#/definitions/x"}
    )
    assert resolved["c"] == {"config_overrides": {"k": "#/definitions/x"}}
    assert resolved["d"] == 1


def test_references_are_read_from_the_document_and_the_result_is_a_new_tree():
    document = {"definitions": {"base": {"list": [1]}}, "a": "#/definitions/base", "b": "#/definitions/base"}
    resolved = resolve_references(document)
    resolved["a"]["list"].append(2)
    assert resolved["b"] == {"list": [1]}
    assert document["a"] == "#/definitions/base"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"definitions": {"a": "#/definitions/b", "b": {"c": "#/definitions/a"}}},
            "manifest: circular reference at definitions.a.c: #/definitions/b -> #/definitions/a -> #/definitions/b",
        ),
        (
            {"streams": [{"$ref": "#/definitions/me", "name": "x"}], "definitions": {"me": {"$ref": "#/definitions/me"}}},
            "manifest: circular reference at streams[0]: #/definitions/me -> #/definitions/me",
        ),
        (
            {"streams": [{"retriever": {"$ref": "#/definitions/nope"}}]},
            "manifest: streams[0].retriever: reference '#/definitions/nope' points at nothing",
        ),
        ({"streams": ["#/streams/0/name"]}, "manifest: streams[0]: reference '#/streams/0/name' points at nothing"),
        (
            {"s": {"$ref": "definitions/base"}},
            "manifest: s['$ref']: 'definitions/base' is not a reference (write '#/definitions/...')",
        ),
    ],
)
def test_broken_references_are_one_line_naming_where(document, message):
    with pytest.raises(ManifestError) as caught:
        resolve_references(document)
    assert str(caught.value) == message


def test_references_cannot_expand_a_manifest_without_bound():
    levels = {f"l{i}": [f"#/definitions/l{i + 1}"] * 10 for i in range(7)}
    with pytest.raises(ManifestError, match=f"references expand the manifest past {MAX_VALUES:,} values"):
        resolve_references({"definitions": {**levels, "l7": "x"}, "streams": ["#/definitions/l0"]})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(alphabet="ab/#* ", max_size=6).filter(lambda s: not s.startswith(("#/", "*ref("))),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text("abc", min_size=1, max_size=3), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text("xyz", min_size=1, max_size=3), json_values, min_size=1, max_size=5))
def test_a_reference_is_an_exact_copy_of_what_it_points_at(definitions):
    document = {"definitions": definitions, "uses": [f"#/definitions/{name}" for name in definitions]}
    resolved = resolve_references(document)
    assert resolved["uses"] == list(definitions.values())
    assert resolved["definitions"] == definitions


def test_untyped_sub_components_get_the_cdks_default_types():
    tree = read_manifest(
        {
            "version": "6.0.0",
            "check": {"stream_names": ["s"]},
            "streams": [
                {
                    "name": "s",
                    "retriever": {"requester": {"url_base": "https://api"}, "record_selector": {"extractor": {"field_path": []}}},
                    "incremental_sync": {"type": "DatetimeBasedCursor", "start_datetime": {"datetime": "2024-01-01"}},
                }
            ],
        }
    )
    first = tree["streams"][0]
    assert tree["type"] == "DeclarativeSource"
    assert tree["check"]["type"] == "CheckStream"
    assert first["type"] == "DeclarativeStream"
    assert first["retriever"]["type"] == "SimpleRetriever"
    assert first["retriever"]["requester"]["type"] == "HttpRequester"
    assert first["retriever"]["record_selector"]["type"] == "RecordSelector"
    assert first["retriever"]["record_selector"]["extractor"]["type"] == "DpathExtractor"
    assert first["incremental_sync"]["start_datetime"]["type"] == "MinMaxDatetime"
    assert "paginator" not in first["retriever"]  # a default type is given to what is there, nothing is added


def test_custom_code_gets_its_custom_type_from_its_field():
    tree = propagate_parameters({"type": "RecordSelector", "extractor": {"class_name": "source_x.components.MyExtractor"}})
    assert tree["extractor"] == {"class_name": "source_x.components.MyExtractor", "type": "CustomRecordExtractor"}


def test_parameters_flow_down_own_parameters_win_and_fill_missing_or_falsy_fields():
    tree = read_manifest(
        {
            "version": "6.0.0",
            "streams": [
                stream(
                    **{"$parameters": {"name": "issues", "path": "/issues", "primary_key": "id"}},
                    retriever={
                        "requester": {"$parameters": {"path": "/v2/issues"}, "url_base": "https://api"},
                        "paginator": {"type": "DefaultPaginator", "path": "", "pagination_strategy": {"type": "PageIncrement"}},
                    },
                )
            ],
        }
    )
    first = tree["streams"][0]
    assert (first["name"], first["path"], first["primary_key"]) == ("issues", "/issues", "id")
    requester = first["retriever"]["requester"]
    assert requester["path"] == "/v2/issues"
    assert requester["$parameters"] == {"name": "issues", "path": "/v2/issues", "primary_key": "id"}
    # CDK: an empty field takes the parameter of the same name
    assert first["retriever"]["paginator"]["path"] == "/issues"
    assert first["retriever"]["paginator"]["pagination_strategy"]["name"] == "issues"


def test_a_parameter_named_like_a_field_does_not_flow_into_it_and_a_falsy_one_is_dropped_after():
    # CDK: observed trees
    kept = propagate_parameters(stream(**{"$parameters": {"retriever": "R", "name": "s"}}, retriever={"requester": {}}))
    assert kept["$parameters"] == {"name": "s", "retriever": "R"}
    assert kept["retriever"]["$parameters"] == {"name": "s"}
    dropped = propagate_parameters(
        stream(
            **{"$parameters": {"retriever": "", "name": "s"}},
            retriever={"requester": {}},
            transformations=[{"type": "AddFields", "fields": []}],
        )
    )
    assert dropped["$parameters"] == {"name": "s"}
    assert dropped["transformations"][0]["$parameters"] == {"name": "s"}


def test_dynamic_streams_may_let_the_parents_parameters_win():
    tree = propagate_parameters(
        stream(**{"$parameters": {"name": "own"}}, retriever={"requester": {"$parameters": {"name": "inner"}}}),
        parent_parameters={"name": "parent"},
        use_parent_parameters=True,
    )
    assert tree["retriever"]["requester"]["name"] == "parent"


def test_json_schemas_are_left_alone_and_lose_their_parameters():
    tree = propagate_parameters(
        {
            "type": "InlineSchemaLoader",
            "$parameters": {"name": "s"},
            "schema": {"type": "object", "$parameters": {"q": 1}, "properties": {"type": {"type": "string"}}},
        }
    )
    assert tree["schema"] == {"type": "object", "properties": {"type": {"type": "string"}}}


def test_an_object_with_a_type_key_in_a_request_body_receives_the_parameters_too():
    """CDK: the transformer takes any object with a ``type`` for a component: this request body is
    sent with ``name``, ``path`` and ``$parameters`` added (HttpRequester.get_request_body_json)."""
    tree = propagate_parameters(
        stream(
            **{"$parameters": {"name": "s", "path": "/x"}},
            retriever={"requester": {"request_body_json": {"type": "Report", "x": 1}}},
        )
    )
    body = tree["retriever"]["requester"]["request_body_json"]
    assert body == {"type": "Report", "x": 1, "name": "s", "path": "/x", "$parameters": {"name": "s", "path": "/x"}}


def test_every_component_keeps_its_path_and_nothing_else_gets_one():
    tree = read_manifest(
        {
            "version": "6.0.0",
            "definitions": {
                "paginator": {
                    "type": "DefaultPaginator",
                    "pagination_strategy": {"type": "CursorPagination", "cursor_value": "x"},
                }
            },
            "streams": [
                stream(name="a", retriever={"requester": {"url_base": "u"}}),
                stream(
                    name="b",
                    retriever={
                        "paginator": {"$ref": "#/definitions/paginator"},
                        "requester": {"request_body_json": {"type": "Report"}, "request_parameters": {"q": "1"}},
                    },
                ),
            ],
        }
    )
    assert [path for path, _ in iter_components(tree)] == [
        "",
        "streams[0]",
        "streams[0].retriever",
        "streams[0].retriever.requester",
        "streams[1]",
        "streams[1].retriever",
        "streams[1].retriever.paginator",
        "streams[1].retriever.paginator.pagination_strategy",
        "streams[1].retriever.requester",
    ]
    assert (
        tree["streams"][1]["retriever"]["paginator"]["pagination_strategy"][PATH_KEY]
        == "streams[1].retriever.paginator.pagination_strategy"
    )
    assert PATH_KEY not in tree["streams"][1]["retriever"]["requester"]["request_body_json"]
    assert PATH_KEY not in tree["definitions"]["paginator"]
    assert PATH_KEY not in json.dumps(without_paths(tree))
