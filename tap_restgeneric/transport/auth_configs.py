"""The config of each auth type, typed: its keys are what the type accepts, its required keys what it requires.

(No ``from __future__ import annotations`` here: ``TypedDict`` tells ``NotRequired`` keys apart only from
annotations it can evaluate.)
"""

import typing as t

from typing_extensions import NotRequired


class ApiKeyAuth(t.TypedDict):
    type: t.Literal["api_key"]
    api_key: str
    name: NotRequired[str]
    location: NotRequired[str]


class BearerAuth(t.TypedDict):
    type: t.Literal["bearer"]
    token: str


class HttpBasicAuth(t.TypedDict):
    type: t.Literal["http_basic"]
    username: str
    password: NotRequired[str]


class OAuth2ClientCredentialsAuth(t.TypedDict):
    type: t.Literal["oauth2_client_credentials"]
    access_token_url: str
    client_id: str
    client_secret: str
    access_token_request_data: NotRequired[dict[str, t.Any]]
    default_token_expiration: NotRequired[float]
    client_auth_method: NotRequired[str]


class OAuth2RefreshTokenAuth(t.TypedDict):
    type: t.Literal["oauth2_refresh_token"]
    access_token_url: str
    refresh_token: str
    client_id: NotRequired[str]
    client_secret: NotRequired[str]
    scopes: NotRequired[list[str]]
    access_token_request_data: NotRequired[dict[str, t.Any]]
    client_auth_method: NotRequired[str]
    access_token_name: NotRequired[str | list[str]]
    expires_in_name: NotRequired[str | list[str]]
    token_expiry_date_format: NotRequired[str]
    default_token_expiration: NotRequired[float]
    refresh_margin: NotRequired[float]
    refresh_token_updater: NotRequired[dict[str, t.Any]]


class SessionLoginAuth(t.TypedDict):
    type: t.Literal["session_login"]
    login_url: str
    method: NotRequired[str]
    login_body_json: NotRequired[dict[str, t.Any]]
    login_body_data: NotRequired[dict[str, t.Any]]
    login_headers: NotRequired[dict[str, str]]
    username: NotRequired[str]
    password: NotRequired[str]
    session_token_path: NotRequired[str | list[str]]
    session_token_header: NotRequired[str]
    expiration_duration: NotRequired[str]
    inject_into: NotRequired[str]
    field_name: NotRequired[str]


class JwtAuthConfig(t.TypedDict):
    type: t.Literal["jwt"]
    secret_key: str
    algorithm: NotRequired[str]
    token_duration: NotRequired[int]
    base64_encode_secret_key: NotRequired[bool]
    header_prefix: NotRequired[str]
    jwt_headers: NotRequired[dict[str, str]]
    jwt_payload: NotRequired[dict[str, str]]
    additional_jwt_headers: NotRequired[dict[str, t.Any]]
    additional_jwt_payload: NotRequired[dict[str, t.Any]]
    passphrase: NotRequired[str]
    request_option: NotRequired[dict[str, str]]


class SelectiveAuth(t.TypedDict):
    type: t.Literal["selective"]
    authenticator_selection_path: list[str]
    authenticators: dict[str, dict[str, t.Any]]


AuthConfig = (
    ApiKeyAuth
    | BearerAuth
    | HttpBasicAuth
    | OAuth2ClientCredentialsAuth
    | OAuth2RefreshTokenAuth
    | SessionLoginAuth
    | JwtAuthConfig
)
