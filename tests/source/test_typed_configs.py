"""The typed configs the engine reads (paginators, auth types, incremental blocks, error handlers) and the
dialect schema the source is checked against have the same keys: the two cannot drift."""

from __future__ import annotations

import pytest

from tap_restgeneric.paging.paginators import PAGINATOR_ALIASES, PAGINATORS, paginator_options
from tap_restgeneric.paging.paginators.configs import PAGINATOR_CONFIGS
from tap_restgeneric.source.incremental_config import IncrementalConfig
from tap_restgeneric.source.validation import DIALECT_SCHEMA
from tap_restgeneric.transport.auth import AUTH_TYPES, SELECTIVE
from tap_restgeneric.transport.auth_configs import SelectiveAuth
from tap_restgeneric.transport.retry import ErrorHandlerConfig

DEFINITIONS = DIALECT_SCHEMA["$defs"]


def keys(config: type) -> set[str]:
    return set(config.__annotations__) - {"type"}


@pytest.mark.parametrize("kind", PAGINATORS)
def test_each_paginator_config_has_the_keys_its_class_takes(kind):
    assert keys(PAGINATOR_CONFIGS[kind]) == paginator_options(kind)


def test_the_paginator_configs_are_the_dialect_schemas_paginator():
    assert set(PAGINATOR_CONFIGS) == set(PAGINATORS)
    properties = DEFINITIONS["paginator"]["properties"]
    assert set(properties) - {"type"} == set().union(*(keys(config) for config in PAGINATOR_CONFIGS.values()))
    assert properties["type"]["enum"] == [*PAGINATORS, *PAGINATOR_ALIASES]
    assert PAGINATOR_CONFIGS["offset"].__required_keys__ == {"type", "limit"}  # type: ignore[attr-defined]


def test_the_auth_configs_are_the_dialect_schemas_auth():
    properties = DEFINITIONS["auth"]["properties"]
    assert properties["type"]["enum"] == [*AUTH_TYPES, SELECTIVE]  # selective: resolved into one of them when read
    accepted = set().union(*(kind.accepted for kind in AUTH_TYPES.values()))
    assert set(properties) - {"type"} == accepted | (set(SelectiveAuth.__annotations__) - {"type"})
    assert AUTH_TYPES["oauth2_client_credentials"].required == {"access_token_url", "client_id", "client_secret"}


def test_the_incremental_config_is_the_dialect_schemas_incremental():
    incremental = DEFINITIONS["incremental"]
    assert set(IncrementalConfig.__annotations__) == set(incremental["properties"])
    assert set(IncrementalConfig.__required_keys__) == set(incremental["required"])  # type: ignore[attr-defined]


def test_the_error_handler_config_is_the_dialect_schemas_error_handler():
    assert set(ErrorHandlerConfig.__annotations__) == set(DEFINITIONS["error_handler"]["properties"])
