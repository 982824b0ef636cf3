"""The token store on disk: modes, atomic replacement, the run lock, which token wins, and a run killed after a rotation."""

from __future__ import annotations

import json
import os
import select
import signal
import stat
import subprocess
import sys
import textwrap

import pytest
import requests

from tap_restgeneric.transport.oauth import OAuth2Settings, OAuth2Tokens, OAuthError
from tap_restgeneric.transport.token_store import TokenStore, TokenStoreError, default_path, entry_key, seed_digest
from tests.support import FakeClock
from tests.transport.oauth_server import RotatingTokenEndpoint


def test_created_0600_in_a_directory_created_0700_and_replaced_whole(tmp_path):
    store = TokenStore(tmp_path / "state" / "deep" / "tokens.json")
    store.save("k1", "refresh-one", "seed")
    store.save("k2", "refresh-two", "seed")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["tokens.json", "tokens.json.lock"]  # no temporary left
    assert {k: v["refresh_token"] for k, v in json.loads(store.path.read_text())["entries"].items()} == {
        "k1": "refresh-one",
        "k2": "refresh-two",
    }


def test_an_existing_directory_keeps_its_mode(tmp_path):
    tmp_path.chmod(0o755)
    TokenStore(tmp_path / "tokens.json").save("k", "refresh-token", "s")
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


def test_the_file_does_not_name_the_api_or_the_client(tmp_path):
    store = TokenStore(tmp_path / "tokens.json")
    key = entry_key("https://login.example.com/oauth/token", "client-42")
    store.save(key, "refresh-token-value", seed_digest("config-token"))
    text = store.path.read_text()
    assert "example.com" not in text and "client-42" not in text and "config-token" not in text
    assert (
        key
        == entry_key("https://login.example.com/oauth/token", "client-42")
        != entry_key("https://login.example.com/oauth/token", "other")
    )


def test_the_stored_token_wins_unless_the_config_was_given_a_new_one(tmp_path):
    store = TokenStore(tmp_path / "tokens.json")
    assert store.refresh_token_for("k", "rt-config") == ("rt-config", "config")
    store.save("k", "rt-rotated", seed_digest("rt-config"))
    assert store.refresh_token_for("k", "rt-config") == ("rt-rotated", f"token store {store.path}")
    assert store.refresh_token_for("k", "rt-authorised-again") == ("rt-authorised-again", "config")


def test_a_second_run_of_the_same_credentials_is_refused_after_the_timeout(tmp_path):
    clock = FakeClock()
    first = TokenStore(tmp_path / "tokens.json")
    second = TokenStore(tmp_path / "tokens.json", lock_timeout=5, clock=clock, sleep=clock.sleep)
    with first.claim("a" * 64):
        with pytest.raises(TokenStoreError) as info, second.claim("a" * 64):
            pass
        assert str(info.value) == (
            f"token store {first.path}: these credentials' refresh token is held by another run (process {os.getpid()}) for "
            "more than 5 s; two runs cannot share a rotating refresh token (wait for it, or give this run its own "
            "credentials and token_store)"
        )
        assert sum(clock.slept) >= 5
        with second.claim("b" * 64):  # other credentials in the same store are not held
            pass
    with second.claim("a" * 64):  # released with the first run
        pass


def test_a_file_that_is_not_a_store_is_an_error_naming_it(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text("[1, 2]")
    with pytest.raises(
        TokenStoreError, match=rf"^token store {path}: not a token store file \(JSON with entries\); move it away$"
    ):
        TokenStore(path).load("k")


def test_the_default_place_is_the_users_state_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "tap-restgeneric" / "tokens.json"
    assert TokenStore().path == default_path()


def test_facts(tmp_path):
    store = TokenStore(tmp_path / "tokens.json")
    assert store.facts() == {"token_store": str(store.path), "exists": False, "mode": None, "entries": 0}
    store.save("k", "refresh-token", "s")
    assert store.facts() == {"token_store": str(store.path), "exists": True, "mode": "0o600", "entries": 1}


# ------------------------------------------------------------------------------------------ killed after a rotation

CHILD = textwrap.dedent(
    """
    import sys, time, requests
    from tap_restgeneric.transport.oauth import OAuth2Settings, OAuth2Tokens
    from tap_restgeneric.transport.token_store import TokenStore

    class Announcing(TokenStore):
        def save(self, key, refresh_token, seed):
            super().save(key, refresh_token, seed)
            print("stored", flush=True)
            time.sleep(3600)  # killed here: the rotated token is stored, the access token never used

    settings = OAuth2Settings(sys.argv[1], client_id="client", client_secret="secret-value", refresh_token="rt-0")
    OAuth2Tokens(settings, send=requests.Session().send, store=Announcing(sys.argv[2])).credential.current()
    """
)


def test_a_run_killed_right_after_a_rotation_leaves_the_next_run_working(httpserver, tmp_path):
    endpoint = RotatingTokenEndpoint("rt-0")
    httpserver.expect_request("/token", method="POST").respond_with_handler(endpoint)
    url, store_path = httpserver.url_for("/token"), tmp_path / "tokens.json"
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, str(store_path)], stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([child.stdout], [], [], 120)
        assert ready and child.stdout.readline().strip() == "stored"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert endpoint.live == {"rt-1"}  # the provider revoked rt-0, which the config still holds

    # the next run, with the same config, starts from the stored token and works
    settings = OAuth2Settings(url, client_id="client", client_secret="secret-value", refresh_token="rt-0")
    tokens = OAuth2Tokens(settings, send=requests.Session().send, store=TokenStore(store_path, lock_timeout=60))
    assert tokens.credential.current() == "at-2"
    assert [form["refresh_token"] for form in endpoint.requests] == ["rt-0", "rt-1"]
    assert tokens.facts()["refresh_token_from"] == f"rotated in this run (stored in {store_path})"
    tokens.close()
    assert TokenStore(store_path).refresh_token_for(entry_key(url, "client"), "rt-0")[0] == "rt-2"


def test_without_the_store_the_same_kill_leaves_a_revoked_token(httpserver):
    """The control: a rotation kept in memory only is lost with the process; the config's token is refused."""
    endpoint = RotatingTokenEndpoint("rt-0")
    endpoint.live = {"rt-1"}  # a run already rotated rt-0 away and died
    httpserver.expect_request("/token", method="POST").respond_with_handler(endpoint)
    settings = OAuth2Settings(
        httpserver.url_for("/token"), client_id="client", client_secret="secret-value", refresh_token="rt-0"
    )
    with pytest.raises(OAuthError) as info:
        OAuth2Tokens(settings, send=requests.Session().send).credential.current()
    assert str(info.value) == (
        f"OAuth2 token request to {httpserver.url_for('/token')}: HTTP 400: the refresh token (from config) was "
        "refused; authorise again and put the new refresh token in the config (invalid_grant token revoked)"
    )
