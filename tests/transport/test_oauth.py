"""OAuth2 tokens against a loopback token endpoint: the requests sent, expiry and its margin, 401s, threads, rotation."""

from __future__ import annotations

import base64
import logging

import pytest
import requests
from werkzeug import Response

from tap_restgeneric.errors import Subject
from tap_restgeneric.output.redact import REDACTOR
from tap_restgeneric.transport.deadlines import new_session
from tap_restgeneric.transport.oauth import OAuth2Settings, OAuth2Tokens, OAuthError, find_value
from tap_restgeneric.transport.origins import Origin
from tap_restgeneric.transport.renewal import send_authenticated
from tap_restgeneric.transport.token_store import TokenStore, TokenStoreError
from tap_restgeneric.transport.wire import Transport
from tests.support import FakeClock, call_in_threads
from tests.transport.oauth_server import RotatingTokenEndpoint

NOW = 1_750_000_000.0


def tokens(httpserver, endpoint, clock=None, store=None, path="/token", **settings) -> OAuth2Tokens:
    httpserver.expect_request(path, method="POST").respond_with_handler(endpoint)
    options = {"client_id": "client", "client_secret": "s3cret-value", "refresh_token": "rt-0", **settings}
    return OAuth2Tokens(
        OAuth2Settings(httpserver.url_for(path), **options),
        send=requests.Session().send,
        store=store,
        clock=clock or FakeClock(NOW),
    )


def test_the_refresh_token_grant_sends_a_form_with_every_field(httpserver):
    endpoint = RotatingTokenEndpoint(rotate=False)
    oauth = tokens(
        httpserver, endpoint, scopes=("read", "write"), refresh_request_body={"audience": "api", "grant_type": "ignored"}
    )
    assert oauth.credential.current() == "at-1"
    assert endpoint.requests == [
        {
            "grant_type": "refresh_token",
            "client_id": "client",
            "client_secret": "s3cret-value",
            "refresh_token": "rt-0",
            "scope": "read write",
            "audience": "api",
        }
    ]
    assert endpoint.authorization == [None]


def test_client_auth_as_basic_and_the_cdks_scopes_and_query_form(httpserver):
    endpoint = RotatingTokenEndpoint(rotate=False)
    oauth = tokens(
        httpserver,
        endpoint,
        client_auth_method="client_secret_basic",
        scopes=("a", "b"),
        scopes_name="scopes",
        scopes_separator=None,
        send_refresh_request_as_query_params=True,
    )
    oauth.credential.current()
    assert endpoint.requests == [{"grant_type": "refresh_token", "refresh_token": "rt-0", "scopes": ["a", "b"]}]
    assert endpoint.authorization == ["Basic " + base64.b64encode(b"client:s3cret-value").decode()]


def test_client_credentials_as_dlt_sends_them(httpserver):
    endpoint = RotatingTokenEndpoint()
    oauth = tokens(
        httpserver, endpoint, grant_type="client_credentials", refresh_token=None, refresh_request_body={"resource": "x"}
    )
    assert oauth.credential.current() == "at-1"
    assert endpoint.requests == [
        {"grant_type": "client_credentials", "client_id": "client", "client_secret": "s3cret-value", "resource": "x"}
    ]


def test_the_token_is_renewed_a_margin_before_it_expires_not_after(httpserver):
    clock = FakeClock(NOW)
    oauth = tokens(httpserver, RotatingTokenEndpoint(rotate=False, expires_in=600), clock)
    assert oauth.credential.current() == "at-1"
    clock.advance(539)  # 600 s less the 60 s margin: still the first token
    assert oauth.credential.current() == "at-1"
    clock.advance(2)
    assert oauth.credential.current() == "at-2"
    clock.advance(30)
    oauth_short = tokens(httpserver, RotatingTokenEndpoint(rotate=False, expires_in="20"), clock, path="/short")
    assert oauth_short.credential.current() == "at-1"
    clock.advance(17.9)  # a tenth of a short lifetime, not 60 s
    assert oauth_short.credential.current() == "at-1"
    clock.advance(0.2)
    assert oauth_short.credential.current() == "at-2"


@pytest.mark.parametrize(
    ("expires", "settings", "expected"),
    [
        ("2025-06-15 16:06:40", {"token_expiry_date_format": "%Y-%m-%d %H:%M:%S"}, NOW + 3600),
        ("2025-06-15T16:06:40Z", {"token_expiry_is_time_of_expiration": True}, NOW + 3600),
        (NOW + 120, {"token_expiry_is_time_of_expiration": True}, NOW + 120),
        (None, {"default_token_expiration": 300}, NOW + 300),
        (None, {}, NOW + 3600),  # the CDK's hour when the response gives no expiry
    ],
)
def test_expiry_as_seconds_a_date_in_a_format_or_a_default(httpserver, expires, settings, expected):
    endpoint = RotatingTokenEndpoint(rotate=False, expires_in=expires)
    oauth = tokens(httpserver, endpoint, **settings)
    oauth.credential.current()
    assert oauth._expires_at == expected


def test_paths_to_the_token_and_its_expiry(httpserver):
    endpoint = RotatingTokenEndpoint(rotate=False, expires_in=None, extra={"data": {"token": "nested-tok", "ttl": 90}})
    oauth = tokens(httpserver, endpoint, access_token_name=("data", "token"), expires_in_name=("ttl",))
    assert oauth.credential.current() == "nested-tok"
    assert oauth._expires_at == NOW + 90  # one key alone is found at any depth, as the CDK finds it
    assert find_value({"a": [{"b": {"c": 1}}]}, ("c",)) == 1
    assert find_value({"a": {"b": 1}}, ("a", "c")) is None


def test_a_401_renews_the_token_once_and_the_same_request_goes_again(httpserver):
    oauth = tokens(httpserver, RotatingTokenEndpoint(rotate=False))
    seen = []

    def api(request):
        seen.append((request.full_path, request.headers["Authorization"]))
        return Response("[]", 401 if request.headers["Authorization"] == "Bearer at-1" else 200)

    httpserver.expect_request("/items").respond_with_handler(api)
    request = requests.Request("GET", httpserver.url_for("/items"), params={"page": "7"}).prepare()
    response = send_authenticated(requests.Session().send, request, oauth.credential)
    assert response.status_code == 200
    assert seen == [("/items?page=7", "Bearer at-1"), ("/items?page=7", "Bearer at-2")]


def test_threads_share_one_token_request(httpserver):
    endpoint = RotatingTokenEndpoint("rt-0")
    oauth = tokens(httpserver, endpoint)
    assert call_in_threads(oauth.credential.current, 8) == ["at-1"] * 8
    assert len(endpoint.requests) == 1
    # several 401s with the same token: one renewal
    renewed = {oauth.credential.renew("at-1"), oauth.credential.renew("at-1")}
    assert renewed == {"at-2"} and len(endpoint.requests) == 2


def test_a_rotated_refresh_token_is_stored_before_the_access_token_is_handed_out(httpserver, tmp_path):
    endpoint = RotatingTokenEndpoint("rt-0")
    store = TokenStore(tmp_path / "tokens.json")
    oauth = tokens(httpserver, endpoint, store=store)
    assert oauth.credential.current() == "at-1"
    assert store.refresh_token_for(oauth._key, "rt-0")[0] == "rt-1"
    assert oauth.credential.renew("at-1") == "at-2"
    assert [form["refresh_token"] for form in endpoint.requests] == ["rt-0", "rt-1"]
    assert REDACTOR("rt-2 at-2 s3cret-value") == "***REDACTED*** ***REDACTED*** ***REDACTED***"
    oauth.close()


def test_a_store_that_cannot_be_written_means_no_token_is_used(httpserver, tmp_path):
    class FullDisk(TokenStore):
        def save(self, *entry):  # noqa: ARG002
            raise TokenStoreError(f"token store {self.path}: cannot write it (No space left on device)")

    oauth = tokens(httpserver, RotatingTokenEndpoint("rt-0"), store=FullDisk(tmp_path / "tokens.json"))
    with pytest.raises(TokenStoreError, match=r"cannot write it \(No space left on device\)"):
        oauth.credential.current()
    assert oauth.credential.token is None and oauth._refresh_token == "rt-0"


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (
            Response('{"error": "invalid_client"}', 401, content_type="application/json"),
            "HTTP 401: the token endpoint refused the client credentials (invalid_client)",
        ),
        (Response('{"token_type": "Bearer"}', 200), "HTTP 200 but the response has no access_token"),
        (Response("<html>", 200), "HTTP 200 but the response is not a JSON object"),
        (
            Response('{"access_token": "t-12345", "expires_in": "soon"}', 200),
            "expires_in 'soon' is not a number of seconds (set token_expiry_date_format when it is a date)",
        ),
        (
            Response('{"error": "invalid_grant", "error_description": "rt-0 is revoked"}', 400),
            "HTTP 400: the refresh token (from config) was refused; authorise again and put the new refresh token in the config (invalid_grant ***REDACTED*** is revoked)",
        ),
    ],
)
def test_failures_are_one_line_naming_the_token_url_and_never_a_secret(httpserver, reply, problem):
    httpserver.expect_request("/token").respond_with_response(reply)
    settings = OAuth2Settings(httpserver.url_for("/token"), client_id="c", client_secret="s3cret-value", refresh_token="rt-0")
    with pytest.raises(OAuthError) as info:
        OAuth2Tokens(settings, send=requests.Session().send).credential.current()
    assert str(info.value) == f"OAuth2 token request to {httpserver.url_for('/token')}: {problem}"


def test_through_the_origin_scoped_transport(httpserver):
    """The wiring hands the token request to a Transport scoped to the token URL's origin."""
    endpoint = RotatingTokenEndpoint(rotate=False)
    httpserver.expect_request("/token", method="POST").respond_with_handler(endpoint)
    url = httpserver.url_for("/token")
    transport = Transport(
        session=new_session(),
        origin=Origin.of(url),
        about=Subject(other="token"),
        timeout=30,
        max_bytes=1 << 20,
        logger=logging.getLogger("t"),
        secret_body=True,
    )
    settings = OAuth2Settings(url, client_id="c", client_secret="s3cret-value", refresh_token="rt-0")
    oauth = OAuth2Tokens(settings, send=transport.send, clock=FakeClock(NOW))
    assert oauth.credential.current() == "at-1"
    assert oauth.facts() == {
        "auth": "oauth2 (refresh_token)",
        "token_url": url,
        "token_expires_at": "2025-06-15T16:06:40Z",
        "refresh_token_from": "config",
        "token_requests": 1,
        "rotations": 0,
    }
