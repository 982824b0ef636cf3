"""Record a run's responses, and replay them offline: ``--record DIR`` / ``--replay DIR``.

Every response the tap receives (after redirects; the OAuth2 token's too) is saved as one JSON
file, ``DIR/00001.json``, ``DIR/00002.json``… in the order received::

    {"request": "GET http://127.0.0.1:8765/learning/v1/users?page=2", "body_sha256": null,
     "status": 200, "headers": {"Content-Type": "application/json", "Link": "…"}, "body": "{\\"items\\": …}"}

``request`` is the method and URL without the query parameters that carry credentials; every
secret value the tap knows (settings, tokens obtained) is redacted in every field, so a recording
can be committed. ``--replay DIR`` answers each request from the recording of the same method,
URL and body (in recorded order when one was made several times; the last answer repeats), sends
nothing on the network, and needs no secret: those the config reads are given a placeholder. A
request the recording lacks stops the stream with one line naming it and the closest request
recorded.

``DIR/schemas.json`` holds the schema each stream without a declared one ran with (from
``--catalog``, or sampled from the API at discovery). A replay without ``--catalog`` takes them
from there instead of sampling again: discovery's sampling requests differ from a sync's (no
incremental start), so a run recorded with ``--catalog`` has none of them, and with them a
replay would depend on how the recording was made.
"""

from __future__ import annotations

import collections
import difflib
import hashlib
import json
import threading
import typing as t
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from tap_restgeneric.errors import StreamError
from tap_restgeneric.output.redact import REDACTOR

if t.TYPE_CHECKING:
    from tap_restgeneric.settings import Settings

#: What a secret the config reads is, when replaying without it.
REPLAYED_SECRET = "replayed-secret"  # noqa: S105 - a placeholder, not a credential
#: The schemas of the streams that had none declared, in a recording directory.
SCHEMAS_FILE = "schemas.json"


def request_key(request: requests.PreparedRequest, secret_params: t.AbstractSet[str]) -> tuple[str, str | None]:
    """(method and URL without credential parameters, the body's SHA-256), redacted."""
    parts = urlsplit(request.url or "")
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in secret_params]
    url = urlunsplit(parts._replace(query=urlencode(sorted(pairs))))
    body = request.body
    if isinstance(body, str):
        body = body.encode()
    digest = hashlib.sha256(REDACTOR(body.decode("utf-8", "replace")).encode()).hexdigest() if body else None
    return REDACTOR(f"{request.method} {url}"), digest


class Tape:
    """A recording directory: written to (``mode="record"``) or read from (``"replay"``)."""

    def __init__(self, directory: str | Path, mode: str) -> None:
        self.directory = Path(directory)
        self.replaying = mode == "replay"
        self._lock = threading.Lock()
        self._count = 0
        self._answers: dict[tuple[str, str | None], collections.deque] = collections.defaultdict(collections.deque)
        self._schemas: dict[str, dict] = {}
        if self.replaying:
            if not self.directory.is_dir():
                raise StreamError(f"--replay {self.directory}: no such recording directory")
            for path in sorted(self.directory.glob("*.json")):
                if path.stem.isdigit():  # 00001.json…: one response each
                    saved = json.loads(path.read_text())
                    self._answers[(saved["request"], saved.get("body_sha256"))].append(saved)
            schemas = self.directory / SCHEMAS_FILE
            if schemas.is_file():  # (a recording made before they were kept has none)
                self._schemas = json.loads(schemas.read_text())
        else:
            self.directory.mkdir(parents=True, exist_ok=True)

    @classmethod
    def of(cls, settings: Settings) -> Tape | None:
        """The recording the settings ask for: ``replay_dir`` (``--replay``), else ``record_dir`` (``--record``)."""
        if settings.replay_dir:
            return cls(settings.replay_dir, "replay")
        if settings.record_dir:
            return cls(settings.record_dir, "record")
        return None

    def schema_of(self, stream: str) -> dict | None:
        """The schema ``stream`` was recorded with, when it had none declared (None: not known)."""
        return self._schemas.get(stream)

    def keep_schema(self, stream: str, schema: dict) -> None:
        """Record the schema a stream without a declared one runs with (redacted, as everything here)."""
        with self._lock:
            self._schemas[stream] = schema
            text = REDACTOR(json.dumps(self._schemas, indent=1, sort_keys=True))
            (self.directory / SCHEMAS_FILE).write_text(text + "\n")

    def record(
        self,
        request: requests.PreparedRequest,
        response: requests.Response,
        secret_params: t.AbstractSet[str],
        *,
        holds_credentials: bool = False,
    ) -> None:
        """Save one response; ``holds_credentials`` (an OAuth2 token response): its token fields are
        masked too, since the tap registers the token for redaction only once it has read it."""
        method_url, digest = request_key(request, secret_params)
        body = response.content.decode("utf-8", "replace")
        if holds_credentials:
            # The token is known to the redactor only once the tap reads it, after this: a server
            # may hand it out in a header too (or echo it in another field), masked by value here.
            REDACTOR.add(*_credential_values(body))
            body = _masked_tokens(body)
        saved = {
            "request": method_url,
            "body_sha256": digest,
            "status": response.status_code,
            "headers": {k: REDACTOR(v) for k, v in response.headers.items() if k.lower() != "set-cookie"},
            "body": REDACTOR(body),
        }
        with self._lock:
            self._count += 1
            path = self.directory / f"{self._count:05d}.json"
        path.write_text(json.dumps(saved, indent=1) + "\n")

    def replay(self, request: requests.PreparedRequest, secret_params: t.AbstractSet[str]) -> requests.Response:
        key = request_key(request, secret_params)
        with self._lock:
            answers = self._answers.get(key)
            if not answers:
                raise StreamError(
                    f"--replay {self.directory}: no recorded response for {key[0]}{self._closest(key)}; record the run "
                    "again, or make the same requests (the same config, selection and state)"
                )
            saved = answers.popleft() if len(answers) > 1 else answers[0]
        response = requests.Response()
        response.status_code = saved["status"]
        response.headers.update(saved["headers"])
        response.headers.pop("Content-Encoding", None)  # the body was saved decoded
        response._content = saved["body"].encode()  # noqa: SLF001 - how a requests.Response holds its body
        response.url = request.url or ""
        response.request = request
        response.reason = "replayed"
        return response

    def _closest(self, key: tuple[str, str | None]) -> str:
        """`` (closest recorded: GET …)``: the recorded request most like ``key``: of the same method and
        path if there is one (its query the closest), else the closest method and URL."""
        method_url = key[0]
        recorded = {request for request, _ in self._answers}
        if method_url in recorded:
            return " with this body (it was recorded with another body)"
        same_path = [request for request in recorded if request.partition("?")[0] == method_url.partition("?")[0]]
        closest = difflib.get_close_matches(method_url, same_path or recorded, n=1, cutoff=0.0)
        return f" (closest recorded: {closest[0]})" if closest else " (the recording has no response)"


def _is_credential_key(key: str) -> bool:
    lower = key.lower()
    return ("token" in lower or "secret" in lower) and lower != "token_type"


def _credential_values(body: str) -> list[str]:
    """The values of a token response's ``*token*`` / ``*secret*`` fields (none if not JSON)."""
    try:
        document = json.loads(body)
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    return [str(v) for k, v in document.items() if _is_credential_key(k) and isinstance(v, (str, int, float))]


def _masked_tokens(body: str) -> str:
    """A token response with every ``*token*`` / ``*secret*`` value masked (all of it, if not JSON)."""
    try:
        document = json.loads(body)
    except ValueError:
        return REPLAYED_SECRET
    if not isinstance(document, dict):
        return REPLAYED_SECRET
    masked = {k: REPLAYED_SECRET if _is_credential_key(k) else v for k, v in document.items()}
    return json.dumps(masked)
