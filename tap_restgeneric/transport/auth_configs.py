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


AuthConfig = ApiKeyAuth | BearerAuth | HttpBasicAuth | OAuth2ClientCredentialsAuth
