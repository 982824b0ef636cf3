"""JWT auth (HS256 and RS256, claims, headers, PEM keys, reuse) verified by PyJWT and a loopback API; selective auth."""

from __future__ import annotations

import base64

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug import Response

from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.output.redact import REDACTOR
from tap_restgeneric.transport.jwt_auth import JwtAuth, JwtSettings
from tap_restgeneric.transport.selective import select_authenticator
from tests.support import FakeClock

NOW = 1_750_000_000.0
HS_SECRET = "hs256-shared-secret-of-32-bytes!!"


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key, passphrase: bytes | None = None) -> str:
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def test_hs256_with_the_claims_and_headers_airbyte_names():
    auth = JwtAuth(
        JwtSettings(
            HS_SECRET,
            iss="issuer",
            sub="subject",
            aud="audience",
            kid="key-1",
            cty="JWT",
            additional_jwt_headers={"x5t": "thumb"},
            additional_jwt_payload={"scope": "read"},
            token_duration=600,
        ),
        clock=FakeClock(NOW),
    )
    token = auth.token()
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "key-1", "cty": "JWT", "x5t": "thumb"}
    claims = jwt.decode(
        token,
        HS_SECRET,
        algorithms=["HS256"],
        audience="audience",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims == {
        "iss": "issuer",
        "sub": "subject",
        "aud": "audience",
        "scope": "read",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 600,
    }


def test_rs256_from_a_pem_an_encrypted_pem_and_a_pem_with_literal_newlines(rsa_key):
    public = rsa_key.public_key()
    for settings in (
        JwtSettings(pem(rsa_key), algorithm="RS256"),
        JwtSettings(pem(rsa_key, b"open sesame"), algorithm="RS256", passphrase="open sesame"),
        JwtSettings(pem(rsa_key).replace("\n", "\\n"), algorithm="RS256"),
    ):
        token = JwtAuth(settings).token()
        assert (
            jwt.decode(token, public, algorithms=["RS256"])["exp"] - jwt.decode(token, public, algorithms=["RS256"])["iat"]
            == 1200
        )


def test_a_token_is_reused_until_shortly_before_it_expires_and_prefixed():
    clock = FakeClock(NOW)
    auth = JwtAuth(JwtSettings(HS_SECRET, token_duration=300, header_prefix="Bearer"), clock=clock)
    first = auth.token()
    assert first.startswith("Bearer ")
    clock.advance(269)  # 300 s less a tenth of it
    assert auth.token() == first
    clock.advance(2)
    assert auth.token() != first
    assert auth.signed == 2
    assert auth.facts() == {
        "auth": "jwt (HS256)",
        "claims": {},
        "kid": None,
        "sent_as": "header Authorization",
        "token_lifetime_s": 300,
        "token_expires_at": "2025-06-15T15:16:11Z",
    }


def test_base64_encoded_secret_and_no_lifetime():
    clock = FakeClock(NOW)
    auth = JwtAuth(JwtSettings(HS_SECRET, base64_encode_secret_key=True, token_duration=0), clock=clock)
    signed = auth.signed
    token = auth.token()
    assert (
        jwt.decode(token, base64.b64encode(HS_SECRET.encode()).decode(), algorithms=["HS256"], options={"verify_exp": False})[
            "exp"
        ]
        == NOW
    )
    auth.token()
    assert auth.signed == signed + 2  # a new one for every request


def test_a_loopback_api_verifies_the_token_it_is_sent(httpserver, rsa_key):
    public = rsa_key.public_key()

    def api(request):
        try:
            claims = jwt.decode(request.args["jwt"], public, algorithms=["RS256"], audience="api")
        except jwt.PyJWTError as exc:
            return Response(str(exc), 401)
        return Response(f'{{"sub": "{claims["sub"]}"}}', content_type="application/json")

    httpserver.expect_request("/me").respond_with_handler(api)
    auth = JwtAuth(JwtSettings(pem(rsa_key), algorithm="RS256", sub="svc", aud="api", inject_into="query", field_name="jwt"))
    response = requests.Session().send(auth.authenticate(requests.Request("GET", httpserver.url_for("/me")).prepare()))
    assert response.json() == {"sub": "svc"}
    assert REDACTOR(httpserver.log[0][0].args["jwt"]) == "***REDACTED***"


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (
            {"algorithm": "none"},
            "auth.algorithm: 'none' is not one of HS256, HS384, HS512, ES256, ES256K, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512, EdDSA",
        ),
        (
            {"additional_jwt_payload": {"exp": 1}},
            "auth.additional_jwt_payload.exp: reserved (set it with jwt_payload or token_duration)",
        ),
        (
            {"additional_jwt_headers": {"alg": "HS512"}},
            "auth.additional_jwt_headers.alg: reserved (set it with jwt_headers or leave it to the tap)",
        ),
        ({"algorithm": "RS256"}, "auth.secret_key: cannot sign RS256 with it: "),
        (
            {"algorithm": "RS256", "passphrase": "pw-value"},
            "auth.secret_key: not a PEM private key the passphrase opens (ValueError)",
        ),
    ],
)
def test_jwt_config_mistakes_are_one_line_naming_the_key_and_not_the_secret(settings, problem):
    with pytest.raises(SourceConfigError) as info:
        JwtAuth(JwtSettings(HS_SECRET, **settings))
    assert str(info.value).startswith(problem)
    assert HS_SECRET not in str(info.value)


# ------------------------------------------------------------------------------------------ selective

AUTHENTICATORS = {"oauth": {"type": "oauth2_refresh_token"}, "token": {"type": "bearer"}}


@pytest.mark.parametrize(
    ("config", "path", "chosen"),
    [
        ({"credentials": {"auth_type": "token"}}, ["credentials", "auth_type"], "token"),
        ({"auth": "oauth"}, ["auth"], "oauth"),
        ({"accounts": [{"kind": "token"}]}, ["accounts", "0", "kind"], "token"),
    ],
)
def test_selective_auth_chooses_by_the_value_at_the_path(config, path, chosen):
    assert select_authenticator(config, path, AUTHENTICATORS) == (chosen, AUTHENTICATORS[chosen])


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (
            {},
            "auth.authenticator_selection_path: the config has no value at credentials.auth_type (it chooses one of: oauth, token)",
        ),
        (
            {"credentials": {"auth_type": "api_key"}},
            "auth: credentials.auth_type is 'api_key', which names none of the authenticators: oauth, token",
        ),
    ],
)
def test_selective_auth_mistakes(config, problem):
    with pytest.raises(SourceConfigError) as info:
        select_authenticator(config, ["credentials", "auth_type"], AUTHENTICATORS)
    assert str(info.value) == problem
