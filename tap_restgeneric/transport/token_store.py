"""A file that keeps rotating OAuth2 refresh tokens between runs.

Some providers issue a new refresh token with every access token and revoke the old one. The new one must
be kept somewhere safe *before* it is used, or a run killed at the wrong moment leaves a config whose
refresh token is already revoked. It is kept here, not in Singer STATE: STATE is not a secret store
(Meltano keeps it in clear in its system database, targets and orchestrators log and copy it), and the
tap redacts every secret from it anyway. Airbyte's CDK writes the token into a CONTROL message and uses it
at once, never knowing whether anyone stored it; Singer has no such message.

- Where: the setting ``token_store`` (a file path), by default ``tokens.json`` in the user's state
  directory (``platformdirs.user_state_dir("tap-restgeneric")``, e.g. ``~/.local/state/tap-restgeneric``).
  To keep it on a mounted secret volume, point ``token_store`` there.
- Safe on disk: the file is created 0600 and a directory the store creates 0700; it is replaced whole
  (written to a temporary file beside it, fsync, ``os.replace``, fsync of the directory), so a crash
  leaves the old file or the new one, never half of one.
- One run at a time per token: :meth:`TokenStore.claim` takes an exclusive ``flock`` on a lock file of its
  own for the entry, held for the whole run (the kernel releases it when a killed run dies). A second run
  of the same credentials waits up to ``lock_timeout`` seconds, then fails with a line naming the store
  and the process holding it: two runs cannot share a rotating refresh token. Reads and writes of the
  file itself take a short lock of their own.
- Entries are keyed by a SHA-256 of the token URL and client id, so the file does not say which API or
  client it belongs to. It holds the refresh token itself (it must) and a digest of the config's refresh
  token the chain of rotations started from: a config given a *new* refresh token (the user authorised
  again) wins over what is stored; the same config's token loses to the newer stored one.

``--doctor``: :meth:`TokenStore.facts` (path, whether it exists, its mode, entries). Nothing here logs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import hashlib
import json
import os
import tempfile
import time
import typing as t
from pathlib import Path

import platformdirs

from tap_restgeneric.errors import RestGenericError
from tap_restgeneric.output.redact import REDACTOR

FILE_NAME = "tokens.json"
DEFAULT_LOCK_TIMEOUT = 30.0
_POLL = 0.05


class TokenStoreError(RestGenericError):
    """The store cannot be read, written or locked; the message names the file."""


def default_path() -> Path:
    """``tokens.json`` in the user's state directory."""
    return platformdirs.user_state_path("tap-restgeneric") / FILE_NAME


def entry_key(token_url: str, client_id: str | None) -> str:
    """The entry of a token URL and client id: a digest, so the file does not name the API."""
    return hashlib.sha256(json.dumps(["tap-restgeneric/token", token_url, client_id or ""]).encode()).hexdigest()


def seed_digest(refresh_token: str) -> str:
    """Which config refresh token a chain of rotations began with (a digest, never the token)."""
    return hashlib.sha256(f"tap-restgeneric/seed:{refresh_token}".encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class StoredToken:
    refresh_token: str
    seed: str
    stored_at: str


class TokenStore:
    """The store at ``path`` (default: :func:`default_path`); ``clock`` and ``sleep`` pace waiting for a lock."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        clock: t.Callable[[], float] = time.monotonic,
        sleep: t.Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path).expanduser() if path else default_path()
        self.lock_timeout = lock_timeout
        self._clock = clock
        self._sleep = sleep

    # ------------------------------------------------------------------ locking

    def _ensure_directory(self) -> None:
        if not self.path.parent.exists():
            try:
                self.path.parent.mkdir(mode=0o700, parents=True)
            except FileExistsError:
                pass
            except OSError as exc:
                raise TokenStoreError(f"token store {self.path}: cannot create its directory ({exc.strerror})") from None

    @contextlib.contextmanager
    def _locked(self, lock_path: Path, what: str) -> t.Iterator[None]:
        self._ensure_directory()
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise TokenStoreError(f"token store {self.path}: cannot open its lock file {lock_path} ({exc.strerror})") from None
        try:
            deadline = self._clock() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if self._clock() >= deadline:
                        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
                        raise TokenStoreError(
                            f"token store {self.path}: {what} is held by another run (process {holder}) for more than "
                            f"{self.lock_timeout:g} s; two runs cannot share a rotating refresh token (wait for it, or "
                            "give this run its own credentials and token_store)"
                        ) from None
                    self._sleep(_POLL)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the flock

    @contextlib.contextmanager
    def claim(self, key: str) -> t.Iterator[None]:
        """Hold the entry ``key`` for a run: no other run of the same credentials until released (or the process dies)."""
        with self._locked(self.path.with_name(f"{self.path.name}.{key[:16]}.lock"), "these credentials' refresh token"):
            yield

    # ------------------------------------------------------------------ reading and writing

    def _read(self) -> dict[str, t.Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": 1, "entries": {}}
        except OSError as exc:
            raise TokenStoreError(f"token store {self.path}: cannot read it ({exc.strerror})") from None
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
            raise TokenStoreError(f"token store {self.path}: not a token store file (JSON with entries); move it away")
        return data

    def _write(self, data: dict[str, t.Any]) -> None:
        directory = self.path.parent
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            Path(temporary).replace(self.path)  # atomic on POSIX: readers see the old file or the new
        except OSError as exc:
            with contextlib.suppress(OSError):
                Path(temporary).unlink()
            raise TokenStoreError(f"token store {self.path}: cannot write it ({exc.strerror})") from None
        directory_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_fd)  # the rename itself survives a crash
        finally:
            os.close(directory_fd)

    def load(self, key: str) -> StoredToken | None:
        """The entry ``key``, or None; its refresh token is registered for redaction."""
        with self._locked(self.path.with_name(f"{self.path.name}.lock"), "the file"):
            entry = self._read()["entries"].get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("refresh_token"), str):
            return None
        REDACTOR.add(entry["refresh_token"])
        return StoredToken(entry["refresh_token"], str(entry.get("seed", "")), str(entry.get("stored_at", "")))

    def save(self, key: str, refresh_token: str, seed: str) -> None:
        """Store ``refresh_token`` under ``key`` (durably: on disk when this returns)."""
        REDACTOR.add(refresh_token)
        stored_at = datetime.datetime.now(tz=datetime.timezone.utc).isoformat(timespec="seconds")
        with self._locked(self.path.with_name(f"{self.path.name}.lock"), "the file"):
            data = self._read()
            data["entries"][key] = {"refresh_token": refresh_token, "seed": seed, "stored_at": stored_at}
            self._write(data)

    def refresh_token_for(self, key: str, config_refresh_token: str) -> tuple[str, str]:
        """The refresh token to start from and where it came from: the stored one when its chain began
        with this config's token, else the config's (new to the store, or given anew by the user)."""
        stored = self.load(key)
        if stored is not None and stored.seed == seed_digest(config_refresh_token):
            return stored.refresh_token, f"token store {self.path}"
        return config_refresh_token, "config"

    def facts(self) -> dict[str, t.Any]:
        """For ``--doctor``: where the store is, whether it exists, its mode and how many entries it holds."""
        try:
            mode = oct(self.path.stat().st_mode & 0o777)
            entries = len(self._read()["entries"])
        except (FileNotFoundError, TokenStoreError):
            mode, entries = None, 0
        return {"token_store": str(self.path), "exists": mode is not None, "mode": mode, "entries": entries}
