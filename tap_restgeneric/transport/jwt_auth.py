"""JWT auth (Airbyte's ``JwtAuthenticator``): a JSON Web Token signed by the tap with PyJWT, sent with each request.

- Signed with ``algorithm`` (HS256/384/512 with a shared secret; RS*, PS*, ES*, EdDSA with a PEM private
  key, encrypted ones opened with ``passphrase``) and ``secret_key`` (from ``secrets``; ``base64_encode_secret_key``
  signs with the secret's base64 as the CDK does). A PEM pasted into a JSON config or an environment
  variable with literal ``\\n`` is read as the newlines it stands for.
- Header: ``alg``, ``typ`` (default ``JWT``), ``kid``, ``cty`` and ``additional_jwt_headers``. Claims:
  ``iss``, ``sub``, ``aud``, ``iat`` and ``nbf`` (now), ``exp`` (now + ``token_duration``, 1200 s by default)
  and ``additional_jwt_payload``; the reserved names may not be given in the additional ones (the CDK's rule,
  checked here when the config is read rather than at the first request).
- Sent as ``Authorization`` (``header_prefix`` before it, e.g. ``Bearer``), or in the header or query
  parameter ``inject_into``/``field_name`` name. A token is reused until a tenth of its lifetime (at most a
  minute) before ``exp``, not signed anew for every request as the CDK does; with no lifetime, every request
  gets a new one.
- The key, the passphrase and every token signed are registered for redaction.

Config (proposed ``type: jwt``, Airbyte's names): ``secret_key``, ``algorithm``, ``token_duration``,
``base64_encode_secret_key``, ``header_prefix``, ``jwt_headers: {kid, typ, cty}``, ``additional_jwt_headers``,
``jwt_payload: {iss, sub, aud}``, ``additional_jwt_payload``, ``passphrase``, ``request_option: {inject_into:
header | request_parameter, field_name}``. ``--doctor``: :meth:`JwtAuth.facts`.
"""

from __future__ import annotations

import base64
import dataclasses
import time
import typing as t
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tap_restgeneric.datetimes import epoch_to_iso
from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.output.redact import REDACTOR

if t.TYPE_CHECKING:
    import requests

#: Airbyte's JwtAlgorithm values.
ALGORITHMS = (
    "HS256",
    "HS384",
    "HS512",
    "ES256",
    "ES256K",
    "ES384",
    "ES512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "EdDSA",
)
RESERVED_HEADERS = ("kid", "alg", "typ", "cty")
RESERVED_CLAIMS = ("iss", "sub", "aud", "iat", "exp", "nbf")
_MAX_MARGIN = 60.0


@dataclasses.dataclass(frozen=True)
class JwtSettings:
    """What the config says (templates already rendered); mistakes raise ``SourceConfigError`` naming the key."""

    secret_key: str
    algorithm: str = "HS256"
    token_duration: int | None = 1200
    base64_encode_secret_key: bool = False
    header_prefix: str | None = None
    kid: str | None = None
    typ: str | None = "JWT"
    cty: str | None = None
    iss: str | None = None
    sub: str | None = None
    aud: str | None = None
    additional_jwt_headers: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    additional_jwt_payload: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    passphrase: str | None = None
    inject_into: t.Literal["header", "query"] = "header"
    field_name: str = "Authorization"

    def __post_init__(self) -> None:
        problems = []
        if self.algorithm not in ALGORITHMS:
            problems.append(f"auth.algorithm: {self.algorithm!r} is not one of {', '.join(ALGORITHMS)}")
        problems += [
            f"auth.additional_jwt_headers.{name}: reserved (set it with jwt_headers or leave it to the tap)"
            for name in RESERVED_HEADERS
            if name in self.additional_jwt_headers
        ]
        problems += [
            f"auth.additional_jwt_payload.{name}: reserved (set it with jwt_payload or token_duration)"
            for name in RESERVED_CLAIMS
            if name in self.additional_jwt_payload
        ]
        if problems:
            raise SourceConfigError(problems)


def _signing_key(settings: JwtSettings) -> t.Any:
    secret = settings.secret_key
    if "-----BEGIN" in secret and "\\n" in secret and "\n" not in secret:
        secret = secret.replace("\\n", "\n")
    if settings.passphrase:
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - PyJWT and cryptography load only for a JWT auth (30 ms of every start otherwise)

        try:
            return serialization.load_pem_private_key(secret.encode(), password=settings.passphrase.encode())
        except (ValueError, TypeError) as exc:
            raise SourceConfigError(
                [f"auth.secret_key: not a PEM private key the passphrase opens ({type(exc).__name__})"]
            ) from None
    return base64.b64encode(secret.encode()).decode() if settings.base64_encode_secret_key else secret


class JwtAuth:
    """Signs and attaches JWTs for one config (see the module docstring); thread-safe."""

    def __init__(self, settings: JwtSettings, *, clock: t.Callable[[], float] = time.time) -> None:
        import jwt  # noqa: PLC0415 - PyJWT loads only for a JWT auth (30 ms of every start otherwise)

        self._jwt = jwt
        self.settings = settings
        REDACTOR.add(settings.secret_key, settings.passphrase)
        self._key = _signing_key(settings)
        if isinstance(self._key, str):
            REDACTOR.add(self._key)
        self._clock = clock
        self._cached: tuple[str, float, float] | None = None  # token, reuse until, exp
        self.signed = 0
        self.token()  # a key that cannot sign fails when the config is read, not at the first request

    def token(self) -> str:
        """A signed token (with ``header_prefix``), reused until shortly before it expires."""
        now = self._clock()
        cached = self._cached
        if cached is not None and now < cached[1]:
            return cached[0]
        s = self.settings
        issued = int(now)
        lifetime = s.token_duration or 0
        payload = {**s.additional_jwt_payload, **{k: v for k, v in (("iss", s.iss), ("sub", s.sub), ("aud", s.aud)) if v}}
        payload.update(iat=issued, nbf=issued, exp=issued + lifetime)
        headers = {**s.additional_jwt_headers, **{k: v for k, v in (("kid", s.kid), ("typ", s.typ), ("cty", s.cty)) if v}}
        try:
            signed = self._jwt.encode(payload, self._key, algorithm=s.algorithm, headers=headers)
        except (self._jwt.exceptions.PyJWTError, ValueError, TypeError) as exc:
            raise SourceConfigError([f"auth.secret_key: cannot sign {s.algorithm} with it: {REDACTOR(str(exc))[:200]}"]) from None
        REDACTOR.add(signed)
        self.signed += 1
        token = f"{s.header_prefix} {signed}" if s.header_prefix else signed
        reuse_until = issued + lifetime - min(_MAX_MARGIN, lifetime / 10) if lifetime > 0 else now
        self._cached = (token, reuse_until, issued + lifetime)
        return token

    def authenticate(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        value = self.token()
        if self.settings.inject_into == "header":
            request.headers[self.settings.field_name] = value
        else:
            parts = urlsplit(request.url or "")
            query = [*parse_qsl(parts.query, keep_blank_values=True), (self.settings.field_name, value)]
            request.url = urlunsplit(parts._replace(query=urlencode(query)))
        return request

    def facts(self) -> dict[str, t.Any]:
        """For ``--doctor``: the algorithm, claims named, where the token goes and when the current one expires."""
        s = self.settings
        return {
            "auth": f"jwt ({s.algorithm})",
            "claims": {k: v for k, v in (("iss", s.iss), ("sub", s.sub), ("aud", s.aud)) if v},
            "kid": s.kid,
            "sent_as": f"{s.inject_into} {s.field_name}",
            "token_lifetime_s": s.token_duration,
            "token_expires_at": epoch_to_iso(self._cached[2]) if self._cached else None,
        }
