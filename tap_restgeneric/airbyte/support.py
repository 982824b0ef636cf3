"""What the tap runs of a manifest, and the one refusal of everything else, before any request.

A manifest is accepted only whole: every component in :data:`SUPPORTED` (and, for those that have
variants, the variant the engine runs). Anything else is refused with one line per component naming
its place in the manifest: custom Python (``Custom*``, ``class_name``: ``components.py``), asynchronous
jobs (``AsyncRetriever``), and any component the engine does not run (:data:`NOT_YET` gives a
reason for those on their way; none today).
"""

from __future__ import annotations

import datetime
import typing as t

from tap_restgeneric.airbyte import budgets, decoders
from tap_restgeneric.airbyte.census import components
from tap_restgeneric.airbyte.manifest import ManifestError, read_manifest
from tap_restgeneric.errors import SourceConfigError

#: The component types the translator runs.
SUPPORTED = (
    decoders.TYPES
    | budgets.TYPES
    | frozenset(
        {
            "DeclarativeSource",
            "DeclarativeStream",
            "SimpleRetriever",
            "HttpRequester",
            "RecordSelector",
            "DpathExtractor",
            "RecordFilter",
            "DefaultPaginator",
            "NoPagination",
            "PageIncrement",
            "OffsetIncrement",
            "CursorPagination",
            "RequestOption",
            "RequestPath",
            "SubstreamPartitionRouter",
            "ListPartitionRouter",
            "DatetimeBasedCursor",
            "MinMaxDatetime",
            "ParentStreamConfig",
            "ApiKeyAuthenticator",
            "BearerAuthenticator",
            "BasicHttpAuthenticator",
            "NoAuth",
            "OAuthAuthenticator",
            "SessionTokenAuthenticator",
            "SessionTokenRequestBearerAuthenticator",
            "SessionTokenRequestApiKeyAuthenticator",
            "SelectiveAuthenticator",
            "JwtAuthenticator",
            "JwtHeaders",
            "JwtPayload",
            "RefreshTokenUpdater",
            "Bearer",
            "ApiKey",
            "DefaultErrorHandler",
            "CompositeErrorHandler",
            "HttpResponseFilter",
            "ConstantBackoffStrategy",
            "ExponentialBackoffStrategy",
            "WaitTimeFromHeader",
            "WaitUntilTimeFromHeader",
            "AddFields",
            "AddedFieldDefinition",
            "RemoveFields",
            "InlineSchemaLoader",
            "JsonDecoder",
            "CheckStream",
            "Spec",
            "ConcurrencyLevel",  # the CDK's thread count: the tap's own max_concurrency governs
        }
    )
)

#: Components whose engine parts other work is building (wired to manifests after it lands): why each is refused now.
NOT_YET: dict[str, str] = {}


def _variant_refusal(component: t.Mapping[str, t.Any]) -> str | None:
    """A supported type used in a way the engine does not run yet, as a short reason."""
    kind = component.get("type")
    if kind == "OAuthAuthenticator":
        grant = component.get("grant_type") or "refresh_token"
        if grant not in ("client_credentials", "refresh_token"):
            return f"OAuthAuthenticator with grant_type {grant}"
    if kind == "SimpleRetriever" and component.get("decoder") not in (None, {}):
        decoder = component["decoder"]
        name = decoder.get("type") if isinstance(decoder, dict) else decoder
        if name not in decoders.TYPES:
            return f"decoder {name}"
    if kind == "DeclarativeStream" and isinstance(component.get("incremental_sync"), dict):
        inner = component["incremental_sync"].get("type")
        if inner != "DatetimeBasedCursor":
            return f"incremental_sync {inner}"
    return None


def refusals(tree: t.Mapping[str, t.Any]) -> list[str]:
    """One line per component of a read manifest the tap cannot run, with its path; empty: accepted."""
    lines = []
    for use in components(tree):
        if use.custom or use.type not in SUPPORTED:
            reason = NOT_YET.get(use.type)
            lines.append(f"{use} ({reason})" if reason else str(use))
    for path, component in _walk(tree):
        reason = _variant_refusal(component)
        if reason:
            lines.append(f"{reason} at {path or 'the top'}")
    return lines


def translation_refusals(tree: t.Mapping[str, t.Any]) -> list[str]:
    """What the translator refuses in a manifest whose components are all supported (a nested
    feature the engine lacks), found by translating it with a connector config made up from its spec
    (:mod:`.sample_config`); a value that config cannot give is not a refusal, and the other streams are
    still translated."""
    from tap_restgeneric.airbyte.context import Translation, Untranslatable  # noqa: PLC0415 - translate imports this module's peers
    from tap_restgeneric.airbyte.sample_config import sample  # noqa: PLC0415
    from tap_restgeneric.airbyte.translate import translate  # noqa: PLC0415

    spec = (tree.get("spec") or {}).get("connection_specification") or {}
    config = sample(spec) if isinstance(spec, dict) else {}
    try:
        translate(
            tree,
            Translation(config if isinstance(config, dict) else {}, datetime.datetime.now(datetime.timezone.utc), checking=True),
        )
    except Untranslatable as exc:
        return [exc.reason]
    except SourceConfigError:  # a value the made-up config cannot render: not a refusal
        return []
    except (ValueError, TypeError) as exc:  # counted as refused: the translator cannot tell without a config
        return [f"a value that does not translate without a connector config ({type(exc).__name__})"]
    return []


def _walk(tree: t.Mapping[str, t.Any]) -> t.Iterator[tuple[str, dict[str, t.Any]]]:
    from tap_restgeneric.airbyte.manifest import iter_components  # noqa: PLC0415

    yield from iter_components(tree)


def unsupported_components(manifest: t.Mapping[str, t.Any]) -> list[str]:
    """The names of what the tap cannot run in a manifest as written (a parsed ``manifest.yaml``),
    one per kind, sorted; empty means accepted. An unreadable manifest is itself unsupported; a
    manifest whose components are all supported may still use a feature of one the translator refuses."""
    try:
        tree = read_manifest(manifest)
    except ManifestError as exc:
        return [f"unreadable manifest ({exc.problems[0] if exc.problems else exc})"]
    names = {use.type for use in components(tree) if use.custom or use.type not in SUPPORTED}
    for _path, component in _walk(tree):
        reason = _variant_refusal(component)
        if reason:
            names.add(reason.split(" (", 1)[0])
    return sorted(names) if names else translation_refusals(tree)
