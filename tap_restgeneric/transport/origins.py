"""Where a request goes: its origin (scheme, host and port: where credentials belong), a URL as errors
show it (without its query, which may carry credentials), and the environment's proxies and CA
bundle, read once per origin (requests reads ``os.environ`` three times per request otherwise)."""

from __future__ import annotations

import dataclasses
import os
import threading
from urllib.parse import urlsplit, urlunsplit

from requests.utils import get_environ_proxies
from typing_extensions import override

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclasses.dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int | None

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        return cls(scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme))

    @override
    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def display_url(url: str) -> str:
    """The URL without its query string: query values may carry credentials."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def ca_bundle_from_environment() -> str | bool:
    """``verify`` as plain requests resolves it (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE), and
    also Python's own SSL_CERT_FILE / SSL_CERT_DIR, which corporate setups often set alone."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        value = os.environ.get(name)
        if value:
            return value
    return True


class EnvironmentSettings:
    """Proxies per origin and the CA bundle, each read from the environment once."""

    def __init__(self) -> None:
        self.verify = ca_bundle_from_environment()
        self._proxies: dict[Origin, dict[str, str]] = {}
        self._lock = threading.Lock()

    def proxies(self, origin: Origin) -> dict[str, str]:
        found = self._proxies.get(origin)
        if found is None:
            proxies = get_environ_proxies(f"{origin.scheme}://{origin.host}:{origin.port}")
            found = {key: value for key, value in proxies.items() if key != "no_proxy"}
            with self._lock:
                self._proxies[origin] = found
        return found
