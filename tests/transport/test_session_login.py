"""Session-token login against a loopback API whose sessions expire: the login sent, the token placed, re-login."""

from __future__ import annotations

import base64
import json
import threading

import pytest
import requests
from werkzeug import Request, Response

from tap_restgeneric.output.redact import REDACTOR
from tap_restgeneric.transport.renewal import send_authenticated
from tap_restgeneric.transport.session_login import SessionLoginError, SessionLoginSettings, SessionToken
from tests.support import FakeClock, call_in_threads

NOW = 1_750_000_000.0


class SessionApi:
    """POST /login issues sess-N (body or header); /items accepts the newest session until it is ended
    (or refuses every one: ``refusing``)."""

    def __init__(self) -> None:
        self.logins: list[tuple[str, bytes, str | None]] = []
        self.items: list[tuple[str, dict]] = []
        self.session: str | None = None
        self.refusing = False
        self.lock = threading.Lock()

    def login(self, request: Request) -> Response:
        with self.lock:
            self.logins.append((request.content_type or "", request.get_data(), request.headers.get("Authorization")))
            self.session = f"sess-{len(self.logins)}-abcdef"
            return Response(
                json.dumps({"data": {"token": self.session}}),
                headers={"X-Auth-Token": self.session},
                content_type="application/json",
            )

    def end_session(self) -> None:
        with self.lock:
            self.session = None

    def list_items(self, request: Request) -> Response:
        with self.lock:
            sent = {
                "header": request.headers.get("X-Session"),
                "bearer": request.headers.get("Authorization"),
                "cookie": request.cookies.get("sid"),
                "query": request.args.get("sid"),
            }
            self.items.append((request.full_path, sent))
            if self.refusing or self.session is None or self.session not in " ".join(v for v in sent.values() if v):
                return Response('{"error": "session expired"}', 401)
            return Response('[{"id": 1}]', content_type="application/json")


@pytest.fixture
def api(httpserver):
    sessions = SessionApi()
    httpserver.expect_request("/login", method="POST").respond_with_handler(sessions.login)
    httpserver.expect_request("/items").respond_with_handler(sessions.list_items)
    return sessions


def session(httpserver, clock=None, **settings) -> SessionToken:
    options = {"session_token_path": ("data", "token"), "field_name": "X-Session", **settings}
    return SessionToken(
        SessionLoginSettings(httpserver.url_for("/login"), **options), send=requests.Session().send, clock=clock or FakeClock(NOW)
    )


def get(httpserver, credential, page: int = 1) -> requests.Response:
    request = requests.Request("GET", httpserver.url_for("/items"), params={"page": page}).prepare()
    return send_authenticated(requests.Session().send, request, credential.credential)


def test_logs_in_with_a_json_body_and_sends_the_token_as_a_header(httpserver, api):
    token = session(httpserver, login_body_json={"username": "ann", "password": "pa55word-x"})
    assert get(httpserver, token).status_code == 200
    assert api.logins == [("application/json", b'{"username": "ann", "password": "pa55word-x"}', None)]
    assert api.items == [("/items?page=1", {"header": "sess-1-abcdef", "bearer": None, "cookie": None, "query": None})]
    assert REDACTOR("sess-1-abcdef") == "***REDACTED***"


@pytest.mark.parametrize(
    ("inject_into", "field", "sent"),
    [
        ("bearer", "ignored", {"bearer": "Bearer tok.sess-1-abcdef"}),
        ("cookie", "sid", {"cookie": "tok.sess-1-abcdef"}),
        ("query", "sid", {"query": "tok.sess-1-abcdef"}),
    ],
)
def test_the_token_as_a_bearer_cookie_or_query_parameter_through_a_format(httpserver, api, inject_into, field, sent):
    token = session(httpserver, inject_into=inject_into, field_name=field, value_format=lambda t: f"tok.{t}")
    assert get(httpserver, token).status_code == 200
    assert {k: v for k, v in api.items[0][1].items() if v} == sent


def test_a_form_body_with_basic_auth_and_the_token_from_a_header(httpserver, api):
    token = session(
        httpserver,
        login_body_data={"scope": "read"},
        username="ann",
        password="pa55word-x",
        session_token_path=None,
        session_token_header="X-Auth-Token",
    )
    assert token.credential.current() == "sess-1-abcdef"
    assert api.logins == [
        ("application/x-www-form-urlencoded", b"scope=read", "Basic " + base64.b64encode(b"ann:pa55word-x").decode())
    ]


def test_a_401_logs_in_again_and_the_same_page_is_read(httpserver, api):
    token = session(httpserver)
    assert get(httpserver, token, page=1).status_code == 200
    api.end_session()
    response = get(httpserver, token, page=2)
    assert response.status_code == 200
    assert [path for path, _ in api.items] == ["/items?page=1", "/items?page=2", "/items?page=2"]
    assert [sent["header"] for _, sent in api.items] == ["sess-1-abcdef", "sess-1-abcdef", "sess-2-abcdef"]
    assert len(api.logins) == 2


def test_a_second_401_after_logging_in_again_is_the_callers_to_report(httpserver, api):
    token = session(httpserver)
    api.refusing = True
    assert get(httpserver, token).status_code == 401
    assert len(api.items) == 2 and len(api.logins) == 2


def test_logs_in_again_a_little_before_the_duration_ends(httpserver, api):
    clock = FakeClock(NOW)
    token = session(httpserver, clock, expiration_duration="PT1H")
    assert token.credential.current() == "sess-1-abcdef"
    clock.advance(3540 - 1)  # a minute early at most
    assert token.credential.current() == "sess-1-abcdef"
    clock.advance(2)
    assert token.credential.current() == "sess-2-abcdef"
    assert token.facts() == {
        "auth": "session login",
        "login_url": httpserver.url_for("/login"),
        "sent_as": "header X-Session",
        "token_expires_at": "2025-06-15T17:05:41Z",
        "logins": 2,
    }


def test_without_a_duration_the_token_is_kept_until_a_401(httpserver, api):
    clock = FakeClock(NOW)
    token = session(httpserver, clock)
    token.credential.current()
    clock.advance(10 * 86400)
    assert token.credential.current() == "sess-1-abcdef"
    assert len(api.logins) == 1


def test_threads_share_one_login(httpserver, api):
    token = session(httpserver)
    assert call_in_threads(token.credential.current, 6) == ["sess-1-abcdef"] * 6
    assert len(api.logins) == 1


@pytest.mark.parametrize(
    ("reply", "settings", "problem"),
    [
        (Response('{"error": "bad password"}', 401), {}, "HTTP 401: the login was refused (check the credentials it sends)"),
        (Response('{"data": {}}', 200), {}, "HTTP 200 but the response has no token at data.token"),
        (Response("<html>", 200), {}, "HTTP 200 but the response could not be decoded"),
        (
            Response("{}", 200),
            {"session_token_path": None, "session_token_header": "X-Token"},
            "HTTP 200 but the response has no header X-Token",
        ),
    ],
)
def test_login_failures_are_one_line_naming_the_login_url(httpserver, reply, settings, problem):
    httpserver.expect_request("/login").respond_with_response(reply)
    with pytest.raises(SessionLoginError) as info:
        session(httpserver, **settings).credential.current()
    assert str(info.value) == f"session login to {httpserver.url_for('/login')}: {problem}"


def test_settings_mistakes():
    with pytest.raises(ValueError, match="give session_token_path or session_token_header"):
        SessionLoginSettings("https://x/login")
    with pytest.raises(ValueError, match="inject_into 'body' is not one of header, query, cookie, bearer"):
        SessionLoginSettings("https://x/login", session_token_path=("t",), inject_into="body")  # type: ignore[arg-type]
