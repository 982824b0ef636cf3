"""No secret in any form: raw, URL-encoded, JSON-, HTML- or backslash-escaped, base64 (alone or
in HTTP Basic), nor any cut of one, in what the tap writes: error lines, logs, recordings (headers
and bodies), records (stdout and batch files), the doctor's report and the catalog.

Secrets are random, with the ``/+=`` characters that encode differently in each form."""

from __future__ import annotations

import base64
import gzip
import html
import json
import string
from pathlib import Path
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from tap_restgeneric.errors import StreamError
from tap_restgeneric.output.redact import MASK, Redactor, excerpt
from tests.listeners import Listener, Reply, Request
from tests.support import last_line, run_cli, sync

SPECIALS = "/+="
ALPHABET = string.ascii_letters + string.digits + SPECIALS


@st.composite
def secrets(draw: st.DrawFn, min_size: int = 12) -> str:
    """A random secret holding each of ``/+=`` at random places."""
    chars = draw(st.lists(st.sampled_from(ALPHABET), min_size=min_size, max_size=40))
    for special in SPECIALS:
        chars.insert(draw(st.integers(0, len(chars))), special)
    return "S" + "".join(chars)  # an upper-case first letter: no English word in a log line starts so


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def json_escaped(text: str, *, slash: bool = False, ascii_only: bool = True) -> str:
    escaped = json.dumps(text, ensure_ascii=ascii_only)[1:-1]
    return escaped.replace("/", "\\/") if slash else escaped


def go_escaped(text: str) -> str:
    """As Go's encoding/json writes a string: ``<``, ``>``, ``&`` (and ``+`` here) as ``\\u00XX``."""
    return "".join(f"\\u{ord(c):04x}" if c in "<>&+" else c for c in json_escaped(text))


#: Every form of a secret a server or the tap may write it in; all of each comes from the secret.
TEXT_FORMS = {
    "raw": lambda s: s,
    "quote": lambda s: quote(s, safe=""),
    "quote keeping /": quote,
    "quote_plus": quote_plus,
    "quote lower-case hex": lambda s: quote(s, safe="").replace("%2F", "%2f").replace("%2B", "%2b").replace("%3D", "%3d"),
    "quoted twice": lambda s: quote(quote(s, safe=""), safe=""),
    "json": json_escaped,
    "json with \\/": lambda s: json_escaped(s, slash=True),
    "json in json": lambda s: json_escaped(json_escaped(s, slash=True)),
    "unicode escapes": go_escaped,
    "html": lambda s: html.escape(s).replace("/", "&#x2F;").replace("=", "&#61;"),
    "repr": lambda s: repr(s)[1:-1],
    "base64": b64,
    "base64 url-safe": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
}


def forms_of(secret: str, user: str = "cid") -> list[str]:
    return [form(secret) for form in TEXT_FORMS.values()] + [b64(f"{user}:{secret}")]


def shown(secret: str, *texts: str, user: str = "cid") -> list[str]:
    """Forms of ``secret`` in ``texts``, and the first 8 characters of each (what a cut shows)."""
    found = []
    for form in forms_of(secret, user):
        fragments = {form} if form.startswith(b64(user)[:4]) else {form, form[:8]}
        found += [fragment for fragment in fragments for text in texts if fragment in text]
    return sorted(set(found))


# ---------------------------------------------------------------- the redactor itself


@settings(max_examples=150, deadline=None)
@given(secret=secrets(min_size=1), form=st.sampled_from(sorted(TEXT_FORMS)), before=st.text(), after=st.text())
def test_every_form_of_a_secret_is_masked_whole(secret, form, before, after):
    redactor = Redactor()
    redactor.add(secret)
    encoded = TEXT_FORMS[form](secret)
    masked = redactor(f"{before}{encoded}{after}")
    assert encoded not in masked
    assert MASK in masked


@settings(max_examples=100, deadline=None)
@given(secret=secrets(min_size=4), user=st.text(string.ascii_letters + string.digits, min_size=1, max_size=12))
def test_the_basic_credentials_of_any_user_are_masked(secret, user):
    redactor = Redactor()
    redactor.add(secret)  # the password alone: the user name shifts where its base64 starts
    masked = redactor(f"Authorization: Basic {b64(f'{user}:{secret}')}")
    assert masked.startswith("Authorization: Basic ") and MASK in masked
    visible = masked.removeprefix("Authorization: Basic ").split(MASK)[0]
    assert len(visible) <= len(b64(f"{user}:")) + 1  # the user's part, not the password's


@settings(max_examples=150, deadline=None)
@given(secret=secrets(min_size=1), form=st.sampled_from(sorted(TEXT_FORMS)), data=st.data())
def test_a_cut_through_any_form_of_a_secret_shows_none_of_it(secret, form, data):
    redactor = Redactor()
    redactor.add(secret)
    encoded = TEXT_FORMS[form](secret)
    text = f"[[ {encoded} ]]"
    limit = data.draw(st.integers(1, len(text)), label="limit")
    cut = excerpt(text, limit, redactor)
    assert len(cut) <= limit + 1
    left = cut.replace(MASK, "").removesuffix("…")
    assert set(left) <= set("[] "), f"{cut!r} shows part of {encoded!r}"


def test_an_excerpt_is_redacted_before_it_is_cut_and_never_cuts_a_mask():
    redactor = Redactor()
    redactor.add("Sk3y/+=" + "q" * 20)
    text = f"error {quote_plus('Sk3y/+=' + 'q' * 20)} and more"
    assert excerpt(text, 20, redactor) == f"error {MASK}…"
    assert [excerpt(text, limit, redactor) for limit in (12, 19)] == ["error…", "error…"]
    assert excerpt("a\n  short   body", 200, redactor) == "a short body"


# ---------------------------------------------------------------- through the tap

SCHEMA = {"properties": {"id": {"type": "integer"}, "echo": {"type": ["string", "null"]}}}


def api_key_config(api: Listener, secret: str, **endpoint: object) -> dict:
    return {
        "secrets": {"key": secret},
        "source": {
            "client": {
                "base_url": api.url("/api"),
                "auth": {"type": "api_key", "name": "api_key", "api_key": "{{ secrets.key }}", "location": "query"},
            },
            "resource_defaults": {"error_handler": {"max_retries": 0}},
            "resources": [
                {
                    "name": "items",
                    "primary_key": "id",
                    "schema": SCHEMA,
                    "endpoint": {"path": "items", "data_selector": "data", "paginator": "single_page", **endpoint},
                }
            ],
        },
    }


def oauth_config(api: Listener, secret: str) -> dict:
    config = api_key_config(api, secret)
    config["source"]["client"]["auth"] = {
        "type": "oauth2_client_credentials",
        "access_token_url": api.url("/token"),
        "client_id": "cid",
        "client_secret": "{{ secrets.key }}",
    }
    config["source"]["client"]["error_handler"] = {"max_retries": 0}
    return config


def error_text(config: dict) -> str:
    try:
        sync(config)
    except StreamError as exc:
        return str(exc)
    raise AssertionError("the sync did not fail")


@settings(max_examples=12, deadline=None)
@given(secret=secrets(), data=st.data())
def test_an_error_body_cut_through_an_echoed_query_secret_shows_none_of_it(secret, data):
    echoed = f"?api_key={quote_plus(secret)}"
    prefix = "stream 'items': HTTP 404 Not Found from http://127.0.0.1:NNNNN/api/items: "
    # where the 200 characters of the body end: inside the echoed secret, or just past it
    pad = 200 - data.draw(st.integers(1, len(echoed)), label="characters of the echo before the cut")

    def respond(request: Request) -> Reply:
        return Reply(404, ("#" * pad + request.target.partition("items")[2] + " end").encode())

    with Listener("127.0.0.1", respond) as api:
        text = error_text(api_key_config(api, secret))
    assert text.startswith(prefix.replace("NNNNN", str(api.port)) + "#" * pad)
    assert not shown(secret, text)


@settings(max_examples=12, deadline=None)
@given(secret=secrets(), data=st.data())
def test_an_oauth2_error_body_cut_through_the_echoed_client_secret_shows_none_of_it(secret, data):
    form = f"grant_type=client_credentials&client_id=cid&client_secret={quote_plus(secret)}"
    pad = 200 - len(form) + data.draw(st.integers(0, len(quote_plus(secret))), label="characters after the cut")

    def respond(request: Request) -> Reply:
        return Reply(401, "#" * pad + request.body.decode() + " end") if request.path == "/token" else Reply(200)

    with Listener("127.0.0.1", respond) as api:
        text = error_text(oauth_config(api, secret))
    assert text.startswith(f"OAuth2 token request to {api.url('/token')}: HTTP 401 Unauthorized: the token endpoint refused")
    assert not shown(secret, text)


def test_a_bearer_token_echoed_json_escaped_is_masked_in_the_error_line(tmp_path):
    secret = "Sb3ar/er+tok=en/with/slashes"

    def respond(request: Request) -> Reply:
        echoed = json.dumps({"error": "no such item", "authorization": request.headers["authorization"]})
        return Reply(404, echoed.replace("/", "\\/").encode())

    with Listener("127.0.0.1", respond) as api:
        config = api_key_config(api, secret)
        config["source"]["client"]["auth"] = {"type": "bearer", "token": "{{ secrets.key }}"}
        out = run_cli([], config, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        f"tap-restgeneric: error: stream 'items': HTTP 404 Not Found from {api.url('/api/items')}: "
        f'{{"error": "no such item", "authorization": "Bearer {MASK}"}}'
    )
    assert not shown(secret, out.stdout, out.stderr)


def test_a_token_also_sent_in_a_response_header_is_not_recorded(tmp_path):
    secret, token = "Sclient/+=secret-1", "St0ken/+=from-the-endpoint"

    def respond(request: Request) -> Reply:
        if request.path == "/token":
            body = {"access_token": token, "expires_in": 3600}
            return Reply(200, body, {"X-Access-Token": token, "X-Echo": f"Bearer {quote(token, safe='')}"})
        return Reply(200, {"data": [{"id": 1}]})

    recording = tmp_path / "recording"
    with Listener("127.0.0.1", respond) as api:
        out = run_cli(["--record", str(recording)], oauth_config(api, secret), tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    saved = [json.loads(path.read_text()) for path in sorted(recording.glob("*.json"))]
    assert saved[0]["headers"]["X-Access-Token"] == MASK and saved[0]["headers"]["X-Echo"] == f"Bearer {MASK}"
    for path in recording.glob("*.json"):
        assert not shown(token, path.read_text()) and not shown(secret, path.read_text())


def echoing_api(request: Request) -> Reply:
    """An API that echoes the query's api_key in its records, as a /me endpoint may."""
    key = request.query["api_key"][0]
    return Reply(200, {"data": [{"id": 1, "echo": key}, {"id": 2, "echo": f"prefix {key} suffix"}, {"id": 3, "echo": "x"}]})


def test_a_secret_echoed_in_records_is_masked_on_stdout_and_said_once(tmp_path):
    secret = "Srec0rd/+=secret"
    with Listener("127.0.0.1", echoing_api) as api:
        out = run_cli([], api_key_config(api, secret), tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert [r["echo"] for r in out.records("items")] == [MASK, f"prefix {MASK} suffix", "x"]
    assert out.stderr.count("a record holds a secret") == 1
    assert "stream 'items': a record holds a secret of the config (an API echoing a credential)" in out.stderr
    assert not shown(secret, out.stdout, out.stderr)


def test_a_secret_echoed_in_records_is_masked_in_batch_files(tmp_path):
    secret = "Sb4tch/+=secret"
    with Listener("127.0.0.1", echoing_api) as api:
        config = api_key_config(api, secret)
        config["batch_config"] = {
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": (tmp_path / "batches").as_uri()},
            "batch_size": 10,
        }
        out = run_cli([], config, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    [batch] = [m for m in out.messages if m["type"] == "BATCH"]
    lines = gzip.decompress(Path(batch["manifest"][0].removeprefix("file://")).read_bytes()).decode()
    assert [json.loads(line)["echo"] for line in lines.splitlines()] == [MASK, f"prefix {MASK} suffix", "x"]
    assert not shown(secret, lines, out.stdout, out.stderr)


def test_the_doctor_shows_no_form_of_an_echoed_secret(tmp_path):
    secret = "Sd0ct/or+secret="

    def respond(request: Request) -> Reply:  # an error object echoing the request, quoted and escaped
        echoed = {"error": {"url": request.target, "key": request.query["api_key"][0]}, "pad": "#" * 150}
        return Reply(200, json.dumps(echoed).replace("/", "\\/").encode())

    with Listener("127.0.0.1", respond) as api:
        config = api_key_config(api, secret, data_selector=None)
        for fmt in ("text", "json"):
            out = run_cli(["--doctor", "--format", fmt], config, tmp_path)
            assert out.returncode == 1
            assert "the response is an error, not data" in out.stdout
            assert MASK in out.stdout
            assert not shown(secret, out.stdout, out.stderr)


def test_the_catalog_shows_no_form_of_a_secret(tmp_path):
    secret = "Sc4t/al+og=secret"
    with Listener("127.0.0.1") as api:
        config = api_key_config(api, secret)
        config["source"]["resources"][0]["schema"] = {
            "properties": {"id": {"type": "integer", "description": f"see {secret} or {json_escaped(secret, slash=True)}"}}
        }
        out = run_cli(["--discover"], config, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"see {MASK} or {MASK}" in out.stdout
    assert not shown(secret, out.stdout, out.stderr)
