"""Checks of the dialect's auth types that renew credentials, ``selective`` auth, the client's rate budgets and
an endpoint's ``decoder``, made when the source is read (before any request): each problem one line with its path.

``selective`` is resolved here: the value at ``authenticator_selection_path`` in the tap's config (the
settings, not ``secrets``) names one of ``authenticators``, and that auth block replaces it (only the chosen
one's templates are rendered, so only its secrets need to be set).
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.paging.decoder_config import build_decoder
from tap_restgeneric.transport.call_budget import build_call_budget
from tap_restgeneric.transport.jwt_auth import ALGORITHMS
from tap_restgeneric.transport.selective import select_authenticator
from tap_restgeneric.transport.session_login import INJECT_INTO


def selected_auth(auth: t.Mapping[str, t.Any], config: t.Mapping[str, t.Any], where: str) -> tuple[str, dict[str, t.Any]]:
    """The name and block a ``selective`` auth chooses; raises ``SourceConfigError`` naming the path."""
    path = auth.get("authenticator_selection_path") or []
    choices = auth.get("authenticators") or {}
    name, chosen = select_authenticator(config, [str(step) for step in path], choices, where)
    if not isinstance(chosen, t.Mapping):
        raise SourceConfigError([f"{where}.authenticators.{name}: expected an auth object"])
    return name, dict(chosen)


def auth_problems(kind: str, auth: t.Mapping[str, t.Any], where: str) -> list[str]:
    """What is wrong in the options of a renewing auth type that its keys alone do not say."""
    problems = []
    if kind == "session_login":
        if ("session_token_path" in auth) == ("session_token_header" in auth):
            problems.append(f"{where}: give session_token_path (in the body) or session_token_header (one of them)")
        if auth.get("inject_into", "header") not in INJECT_INTO:
            problems.append(f"{where}.inject_into: {auth.get('inject_into')!r} is not one of {', '.join(INJECT_INTO)}")
        if auth.get("login_body_json") is not None and auth.get("login_body_data") is not None:
            problems.append(f"{where}: set login_body_json or login_body_data, not both")
    if kind == "jwt" and auth.get("algorithm", "HS256") not in ALGORITHMS:
        problems.append(f"{where}.algorithm: {auth.get('algorithm')!r} is not one of {', '.join(ALGORITHMS)}")
    if kind == "oauth2_refresh_token":
        method = auth.get("client_auth_method", "client_secret_post")
        if method not in ("client_secret_post", "client_secret_basic"):
            problems.append(f"{where}.client_auth_method: {method!r} is not one of client_secret_post, client_secret_basic")
    return problems


def client_limit_problems(client: t.Mapping[str, t.Any]) -> list[str]:
    """``client.rate_limit`` and ``client.api_budget`` as the engine will read them."""
    problems = []
    limit = client.get("rate_limit") or {}
    max_wait = limit.get("max_wait")
    if max_wait is not None and (isinstance(max_wait, bool) or not isinstance(max_wait, (int, float)) or max_wait < 0):
        problems.append(f"client.rate_limit.max_wait: expected a number of seconds, 0 or more (got {max_wait!r})")
    if client.get("api_budget") is not None:
        try:
            build_call_budget(client["api_budget"], where="client.api_budget")
        except SourceConfigError as exc:
            problems += exc.problems
    return problems


def decoder_spec(decoder: t.Mapping[str, t.Any] | None) -> dict[str, t.Any] | None:
    """The dialect's ``decoder`` (``compression`` beside the type's options) in the building block's form
    (``{type: gzip, decoder: {...}}``)."""
    if decoder is None:
        return None
    inner = {key: value for key, value in decoder.items() if key != "compression"}
    inner.setdefault("type", "json")
    compression = decoder.get("compression")
    return {"type": compression, "decoder": inner} if compression else inner


def decoder_problems(decoder: t.Any, where: str) -> list[str]:
    try:
        build_decoder(decoder_spec(decoder), where)
    except SourceConfigError as exc:
        return [problem.replace(".decoder.decoder", ".decoder") for problem in exc.problems]
    return []
