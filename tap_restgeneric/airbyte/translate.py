"""A read manifest and its connector config -> the source in the dlt dialect's model, checked as a dlt
config is (the same source model, the same engine): :func:`translate`.

Every stream of ``streams`` becomes a resource named as the manifest names it; a parent stream that
is not itself in ``streams`` becomes a resource that is not selected by default. The requests go to
full URLs (``url_base`` joined with ``path``); the first stream's ``url_base`` is the source's base
URL, the origin the credentials are scoped to. ``config`` in the templates the engine evaluates is the
connector config (``manifest_config``); the fields its spec marks ``airbyte_secret`` are the source's
secrets (redacted everywhere, sent only by the authenticator to the API's origin).
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.airbyte import budgets, incremental, streams
from tap_restgeneric.airbyte.context import Translation, Untranslatable
from tap_restgeneric.errors import SourceConfigError

if t.TYPE_CHECKING:
    import datetime
    from collections.abc import Mapping


def _parent_streams(stream: Mapping[str, t.Any]) -> t.Iterator[tuple[Mapping[str, t.Any], Mapping[str, t.Any]]]:
    """(link, parent stream) of a stream's parents, the farthest first."""
    for link in streams.parents(stream):
        parent = link.get("stream")
        if isinstance(parent, dict):
            yield from _parent_streams(parent)
            yield link, parent


def read_whole(link: Mapping[str, t.Any], parent: Mapping[str, t.Any]) -> bool:
    """Whether a child reads its incremental parent whole (the CDK's default: without
    ``incremental_dependency`` the parent is read from its start for the children, whatever its state)."""
    return bool(parent.get("incremental_sync")) and not link.get("incremental_dependency")


def translate(tree: Mapping[str, t.Any], translation: Translation) -> dict[str, t.Any]:
    """The dlt-form source of a read manifest (``client`` and ``resources``). A parent read whole for its
    children while it is incremental itself is a second resource, ``<parent>__whole``, not selected."""
    top: list[Mapping[str, t.Any]] = [s for s in tree.get("streams") or [] if isinstance(s, dict)]
    if tree.get("dynamic_streams"):
        raise Untranslatable("dynamic_streams", "dynamic streams are not supported")
    if not top:
        raise Untranslatable("streams", "the manifest has no streams")
    names = {streams.stream_name(translation, s): s for s in top}
    parent_names: dict[int, str] = {}
    hidden: dict[str, tuple[Mapping[str, t.Any], bool]] = {}
    for stream in top:
        for link, parent in _parent_streams(stream):
            name = streams.stream_name(translation, parent)
            whole = read_whole(link, parent)
            if whole:
                name = f"{name}__whole"
            parent_names[id(parent)] = name
            if name not in names and name not in hidden:
                hidden[name] = (parent, whole)
    resources = []
    auths = []
    runs: list[tuple[Mapping[str, t.Any], bool, bool, str | None]] = [
        *((s, True, False, None) for s in top),
        *((s, False, whole, name) for name, (s, whole) in hidden.items()),
    ]
    for stream, selected, whole, renamed in runs:
        try:
            resource, auth = streams.resource(translation, stream, parent_names, full_table=whole)
        except Untranslatable:
            raise
        except SourceConfigError:
            if not translation.checking:
                raise
            continue  # only checking what is refused: a value the made-up config cannot give, the next stream

        if renamed is not None:
            resource["name"] = renamed
        if not selected:
            resource["selected"] = False
        resources.append(resource)
        auths.append(auth)
    if not resources:  # (checking only, and no stream translated with the made-up config)
        return {"client": {}, "resources": []}
    shared = all(auth == auths[0] for auth in auths)
    client_auth = auths[0] if shared else None
    for resource, auth in zip(resources, auths, strict=True):
        if not shared and auth:
            resource["endpoint"]["auth"] = auth
    base = str(resources[0]["endpoint"]["path"])  # a path template's text starts with its url_base
    client: dict[str, t.Any] = {"base_url": _origin(str(base))}
    if client_auth:
        client["auth"] = client_auth
    budget = budgets.api_budget(translation, tree.get("api_budget"))
    if budget:
        client["api_budget"] = budget
    return {"client": client, "resources": resources}


def fixed_ends(tree: Mapping[str, t.Any], translation: Translation) -> dict[str, datetime.datetime]:
    """The streams whose windows end before the sync's now (``today_utc()``, a configured end), by name."""
    found = {}
    for stream in tree.get("streams") or []:
        end = incremental.fixed_end(translation, stream.get("incremental_sync")) if isinstance(stream, dict) else None
        if end is not None:
            found[streams.stream_name(translation, stream)] = end
    return found


def _origin(url: str) -> str:
    from urllib.parse import urlsplit  # noqa: PLC0415

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
