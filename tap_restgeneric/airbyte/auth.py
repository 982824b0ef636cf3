"""Authenticators -> the engine's auth blocks (their secrets registered, sent only to the API's origin).

ApiKeyAuthenticator -> ``api_key`` (a header or a query parameter), BearerAuthenticator -> ``bearer``,
BasicHttpAuthenticator -> ``http_basic``, OAuthAuthenticator with ``grant_type: client_credentials`` ->
``oauth2_client_credentials``, NoAuth -> none; the refresh-token grant, session login, JWT and
selective authenticators: :mod:`.auth_renewing`. The support module refuses the others before this runs.
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.airbyte import auth_renewing
from tap_restgeneric.airbyte.context import PARAMETERS_KEY, Translation, Untranslatable

if t.TYPE_CHECKING:
    from collections.abc import Mapping


def auth_block(translation: Translation, component: Mapping[str, t.Any] | None) -> dict[str, t.Any] | None:
    """The engine auth config of a requester's ``authenticator``."""
    if not component:
        return None
    kind = component.get("type")
    where = str(component.get("$path", "authenticator"))
    parameters = component.get(PARAMETERS_KEY) or {}

    def text(key: str, default: str = "") -> str:
        value = component.get(key, default)
        return translation.static_text(value, f"{where}.{key}", parameters) if value is not None else ""

    if kind == "NoAuth":
        return None
    if kind == "BearerAuthenticator":
        return {"type": "bearer", "token": text("api_token")}
    if kind == "BasicHttpAuthenticator":
        return {"type": "http_basic", "username": text("username"), "password": text("password")}
    if kind == "ApiKeyAuthenticator":
        option = component.get("inject_into") or {}
        if option:
            location = {"header": "header", "request_parameter": "query"}.get(option.get("inject_into", "header"))
            if location is None:
                raise Untranslatable(f"{where}.inject_into", f"inject_into {option.get('inject_into')} is not supported")
            name = translation.static_text(option.get("field_name"), f"{where}.inject_into.field_name", parameters)
        else:
            location, name = "header", text("header")
        return {"type": "api_key", "name": name, "location": location, "api_key": text("api_token")}
    if kind == "OAuthAuthenticator" and (component.get("grant_type") or "refresh_token") != "client_credentials":
        return auth_renewing.oauth_refresh(translation, component)
    if kind == "SessionTokenAuthenticator":
        return auth_renewing.session_login(translation, component)
    if kind == "JwtAuthenticator":
        return auth_renewing.jwt(translation, component)
    if kind == "SelectiveAuthenticator":
        return auth_renewing.selected(translation, component, auth_block)
    if kind == "OAuthAuthenticator":
        block: dict[str, t.Any] = {
            "type": "oauth2_client_credentials",
            "access_token_url": text("token_refresh_endpoint"),
            "client_id": text("client_id"),
            "client_secret": text("client_secret"),
            "client_auth_method": "client_secret_post",
        }
        scopes = component.get("scopes")
        if scopes:
            block["access_token_request_data"] = {"scope": " ".join(str(s) for s in scopes)}
        return block
    raise Untranslatable(where, f"authenticator {kind} is not supported")
