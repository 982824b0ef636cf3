"""What a manifest uses: its components (every `type` once references are resolved), the sub-features
the issue counts separately (step windows, nested substreams, rotating OAuth...) and the CDK's
interpolation macros. Used by scripts/airbyte/corpus_report.py and to label the pinned connectors."""

from __future__ import annotations

import re
import typing as t
from collections import Counter

from tap_restgeneric.airbyte import vocabulary
from tests.airbyte import resolve

if t.TYPE_CHECKING:
    from collections.abc import Iterable

# The CDK's macros (called like functions) and filters (after a pipe): the tap's own list of them.
# Longest first, so that no name's alternative stops at a shorter name it starts with.
MACROS = tuple(sorted(vocabulary.MACROS, key=lambda name: (-len(name), name)))
FILTERS = tuple(sorted(vocabulary.FILTERS, key=lambda name: (-len(name), name)))
_MACRO_CALL = re.compile(r"\b(" + "|".join(MACROS) + r")\s*\(")
_FILTER_USE = re.compile(r"\|\s*(" + "|".join(FILTERS) + r")\b")
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def _truthy(value: t.Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _router_types(router: t.Any) -> list[str]:
    routers = router if isinstance(router, list) else [router]
    return [r.get("type", "") for r in routers if isinstance(r, dict)]


def _retriever_router(stream: dict[str, t.Any]) -> t.Any:
    retriever = stream.get("retriever") or {}
    return retriever.get("partition_router") if isinstance(retriever, dict) else None


def features(loaded: dict[str, t.Any]) -> set[str]:
    """Components and sub-features of a loaded manifest (resolve.load), each named once."""
    found: set[str] = set()
    for _path, component in resolve.walk(loaded):
        kind = component["type"]
        found.add(kind)
        if kind == "DatetimeBasedCursor":
            if component.get("step"):
                found.add("DatetimeBasedCursor.step")
            if component.get("lookback_window"):
                found.add("DatetimeBasedCursor.lookback_window")
            if _truthy(component.get("is_data_feed")):
                found.add("DatetimeBasedCursor.is_data_feed")
            if _truthy(component.get("is_client_side_incremental")):
                found.add("DatetimeBasedCursor.is_client_side_incremental")
        elif kind == "ParentStreamConfig":
            if _truthy(component.get("incremental_dependency")):
                found.add("SubstreamPartitionRouter.incremental_dependency")
            if "SubstreamPartitionRouter" in _router_types(_retriever_router(component.get("stream") or {})):
                found.add("SubstreamPartitionRouter.nested")
        elif kind == "CursorPagination" and component.get("stop_condition"):
            found.add("CursorPagination.stop_condition")
        elif kind == "OAuthAuthenticator":
            if component.get("grant_type", "refresh_token") == "refresh_token":
                found.add("OAuthAuthenticator.refresh_token_grant")
            if component.get("refresh_token_updater"):
                found.add("OAuthAuthenticator.rotating_refresh_token")
        elif kind == "SessionTokenAuthenticator":
            request_auth = component.get("request_authentication") or {}
            if isinstance(request_auth, dict) and request_auth.get("type") == "Bearer":
                found.add("SessionTokenAuthenticator.request_bearer")
        elif kind == "SimpleRetriever" and not component.get("paginator"):
            found.add("NoPagination")  # the CDK's default paginator
        elif kind == "DeclarativeStream":
            router = _retriever_router(component)
            kinds = _router_types(router)
            if isinstance(router, list) and len(kinds) > 1:
                found.add("partition_router.cartesian")
            if kinds and (component.get("incremental_sync") or {}).get("type"):
                found.add("per_partition_state")
                if "SubstreamPartitionRouter" in kinds:
                    found.add("SubstreamPartitionRouter.per_partition_state")
    return found


def macros(text: str) -> set[str]:
    """The macros and filters a manifest's templates use."""
    used: set[str] = set()
    for template in _TEMPLATE.findall(text):
        used.update(_MACRO_CALL.findall(template))
        used.update(f"|{name}" for name in _FILTER_USE.findall(template))
    return used


def stream_count(loaded: dict[str, t.Any]) -> int:
    return len(resolve.streams(loaded))


def tally(per_manifest: Iterable[set[str]]) -> Counter[str]:
    """How many manifests use each name."""
    counts: Counter[str] = Counter()
    for names in per_manifest:
        counts.update(names)
    return counts
