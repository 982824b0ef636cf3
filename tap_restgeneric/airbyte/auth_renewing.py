"""Authenticators that renew or choose their credential -> the engine's auth blocks.

- OAuthAuthenticator with the refresh-token grant -> ``oauth2_refresh_token`` (client id and secret in
  the form, as the CDK sends them); ``refresh_token_updater`` (rotating refresh tokens) -> the engine's
  ``refresh_token_updater``: the new token goes to the tap's token store, never to the config or STATE.
- SessionTokenAuthenticator -> ``session_login``: its ``login_requester`` (URL, method, body, headers, an
  HTTP Basic authenticator) is the login request; ``request_authentication`` says where the token goes.
- JwtAuthenticator -> ``jwt`` (the same fields).
- SelectiveAuthenticator: the branch the connector config selects is chosen now, as the CDK chooses it
  when it reads the config; only that branch is translated (and its secrets needed).
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.airbyte.context import PARAMETERS_KEY, Translation, Untranslatable
from tap_restgeneric.airbyte.requester import join_url
from tap_restgeneric.errors import SourceConfigError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    AuthBlock = Callable[[Translation, "Mapping[str, t.Any] | None"], "dict[str, t.Any] | None"]

#: OAuthAuthenticator fields whose non-default values the engine does not send.
_OAUTH_NAMES = {"client_id_name": "client_id", "client_secret_name": "client_secret", "refresh_token_name": "refresh_token"}


def _texts(translation: Translation, component: Mapping[str, t.Any]) -> Callable[[str], str]:
    where = str(component.get("$path", "authenticator"))
    parameters = component.get(PARAMETERS_KEY) or {}

    def text(key: str) -> str:
        value = component.get(key)
        return "" if value is None else translation.static_text(value, f"{where}.{key}", parameters)

    return text


def oauth_refresh(translation: Translation, component: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """OAuthAuthenticator, refresh-token grant."""
    where = str(component.get("$path", "authenticator"))
    text = _texts(translation, component)
    for key, default in _OAUTH_NAMES.items():
        if component.get(key) not in (None, default):
            raise Untranslatable(f"{where}.{key}", f"a {key} other than {default!r} is not supported yet")
    if component.get("refresh_request_headers"):
        raise Untranslatable(f"{where}.refresh_request_headers", "headers on the token request are not supported yet")
    if component.get("use_profile_assertion") or component.get("profile_assertion"):
        raise Untranslatable(f"{where}.profile_assertion", "a profile assertion is not supported")
    block: dict[str, t.Any] = {
        "type": "oauth2_refresh_token",
        "access_token_url": text("token_refresh_endpoint"),
        "client_id": text("client_id"),
        "client_secret": text("client_secret"),
        "refresh_token": text("refresh_token"),
        "client_auth_method": "client_secret_post",
    }
    body = component.get("refresh_request_body") or {}
    if isinstance(body, str):
        body = translation.static(body, f"{where}.refresh_request_body", component.get(PARAMETERS_KEY) or {})
    data = {str(k): translation.static_text(v, f"{where}.refresh_request_body.{k}", {}) for k, v in dict(body or {}).items()}
    if data:
        block["access_token_request_data"] = data
    if component.get("scopes"):
        block["scopes"] = [str(s) for s in component["scopes"]]
    for key in ("access_token_name", "expires_in_name"):
        if component.get(key):
            block[key] = text(key)
    expiry_format = text("token_expiry_date_format")
    if "%" in expiry_format:  # a pendulum-style format (YYYY-MM-DD...): the engine reads seconds or ISO 8601 itself
        block["token_expiry_date_format"] = expiry_format
    updater = component.get("refresh_token_updater")
    if isinstance(updater, dict):
        block["refresh_token_updater"] = {"refresh_token_name": str(updater.get("refresh_token_name") or "refresh_token")}
    return block


def session_login(translation: Translation, component: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """SessionTokenAuthenticator: log in with its login_requester, send the token as it says."""
    where = str(component.get("$path", "authenticator"))
    login = component.get("login_requester") or {}
    at = str(login.get("$path", f"{where}.login_requester"))
    parameters = login.get(PARAMETERS_KEY) or {}

    def text(value: t.Any, key: str) -> str:
        return "" if value is None else translation.static_text(value, f"{at}.{key}", parameters)

    if login.get("request_parameters"):
        raise Untranslatable(f"{at}.request_parameters", "query parameters on the login request are not supported yet")
    block: dict[str, t.Any] = {
        "type": "session_login",
        "login_url": join_url(text(login.get("url_base"), "url_base"), text(login.get("path"), "path")),
        "method": str(login.get("http_method") or "POST").upper(),
    }
    for key, target in (("request_body_json", "login_body_json"), ("request_body_data", "login_body_data")):
        body = login.get(key)
        if isinstance(body, str):
            body = translation.static(body, f"{at}.{key}", parameters)
        if body:
            block[target] = translation.interpolation.nested(body, f"{at}.{key}", (), parameters).eval(translation.config)
    headers = login.get("request_headers") or {}
    if headers:
        block["login_headers"] = {str(k): text(v, f"request_headers.{k}") for k, v in dict(headers).items()}
    basic = login.get("authenticator") or {}
    if basic and basic.get("type") == "BasicHttpAuthenticator":
        basic_text = _texts(translation, basic)
        block["username"], block["password"] = basic_text("username"), basic_text("password")
    elif basic and basic.get("type") != "NoAuth":
        raise Untranslatable(f"{at}.authenticator", f"a login request with {basic.get('type')} is not supported")
    path = component.get("session_token_path") or []
    block["session_token_path"] = [str(part) for part in path]
    if component.get("expiration_duration"):
        block["expiration_duration"] = translation.static_text(
            component["expiration_duration"], f"{where}.expiration_duration", {}
        )
    sending = component.get("request_authentication") or {}
    if sending.get("type") == "Bearer":
        block["inject_into"] = "bearer"
        return block
    option = sending.get("inject_into") or {}
    place = {"header": "header", "request_parameter": "query"}.get(str(option.get("inject_into")))
    if sending.get("type") != "ApiKey" or place is None:
        raise Untranslatable(f"{where}.request_authentication", "the token can go in a header, a query parameter or as a bearer")
    block["inject_into"] = place
    block["field_name"] = translation.static_text(option.get("field_name"), f"{where}.request_authentication.field_name", {})
    return block


def jwt(translation: Translation, component: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """JwtAuthenticator: the same fields, rendered."""
    where = str(component.get("$path", "authenticator"))
    parameters = component.get(PARAMETERS_KEY) or {}
    text = _texts(translation, component)
    block: dict[str, t.Any] = {"type": "jwt", "secret_key": text("secret_key"), "algorithm": text("algorithm")}
    if component.get("token_duration") is not None:
        block["token_duration"] = int(translation.static(component["token_duration"], f"{where}.token_duration", parameters))
    if component.get("base64_encode_secret_key"):
        block["base64_encode_secret_key"] = True
    for key in ("header_prefix", "passphrase"):
        if component.get(key):
            block[key] = text(key)
    for key in ("jwt_headers", "jwt_payload", "additional_jwt_headers", "additional_jwt_payload"):
        value = {k: v for k, v in dict(component.get(key) or {}).items() if k != "type" and not str(k).startswith("$")}
        if value:
            block[key] = translation.interpolation.nested(value, f"{where}.{key}", (), parameters).eval(translation.config)
    option = component.get("request_option")
    if option:
        place = {"header": "header", "request_parameter": "query"}.get(str(option.get("inject_into")))
        if place is None:
            raise Untranslatable(f"{where}.request_option", f"inject_into {option.get('inject_into')} is not supported")
        block["request_option"] = {"inject_into": place, "field_name": text_of(translation, option, where)}
    return block


def text_of(translation: Translation, option: Mapping[str, t.Any], where: str) -> str:
    return translation.static_text(option.get("field_name"), f"{where}.request_option.field_name", {})


def selected(translation: Translation, component: Mapping[str, t.Any], auth_block: AuthBlock) -> dict[str, t.Any] | None:
    """SelectiveAuthenticator: the branch the connector config names, translated."""
    where = str(component.get("$path", "authenticator"))
    path = [str(part) for part in component.get("authenticator_selection_path") or []]
    node: t.Any = translation.config
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    branches = component.get("authenticators") or {}
    if translation.checking:  # every branch must translate: any may be the one a config selects
        blocks = [auth_block(translation, branch) for branch in branches.values()]
        return blocks[0] if blocks else None
    if node not in branches:
        names = ", ".join(sorted(map(str, branches)))
        raise SourceConfigError(  # a config problem (the CDK fails on it too), not a refusal
            [f"manifest_config.{'.'.join(path)}: {node!r} names no authenticator of {where} (valid: {names})"]
        )
    return auth_block(translation, branches[node])
