"""A deadline for a whole response, which a socket timeout alone is not.

``timeout=(connect, read)`` bounds each socket read: a server sending one byte every half
second, in its headers or its body, holds a client forever. ``WATCHDOG.arm(seconds)`` gives
a ``Deadline``; while it is armed (``ACTIVE.deadline`` on the thread sending), the connection
that thread uses hands it its socket, and when the deadline passes one daemon thread shuts
that socket down, which wakes the blocked read. ``new_session`` makes sessions whose
connections do that (``DeadlineAdapter``).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import socket
import threading
import time
import typing as t

import requests
from typing_extensions import override
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if t.TYPE_CHECKING:
    import urllib3

#: The encodings the tap decodes itself (and so the only ones it asks for).
ACCEPT_ENCODING = "gzip, deflate"


class Deadline:
    """Armed around one response; when it passes, the watchdog shuts its socket down."""

    __slots__ = ("at", "done", "expired", "sock")

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.sock: socket.socket | None = None
        self.done = False
        self.expired = False

    def fire(self) -> None:
        self.expired = True
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)  # wakes a recv() blocked in any thread


class _Watchdog:
    """One daemon thread firing the deadlines that pass (lazily started, shared by all)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._wakes_at = math.inf  # when the thread wakes next, unless notified

    def arm(self, seconds: float) -> Deadline:
        deadline = Deadline(seconds)
        with self._cond:
            while self._heap and self._heap[0][2].done:  # finished ones, mostly the oldest
                heapq.heappop(self._heap)
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tap-restgeneric-deadlines", daemon=True)
                self._thread.start()
            elif deadline.at < self._wakes_at:
                # Deadlines mostly come in order, so the thread is rarely woken early: waking
                # it for every request cost a thread switch per page.
                self._cond.notify()
        return deadline

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wakes_at = math.inf
                    self._cond.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._wakes_at = self._heap[0][0]
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)[2].fire()


WATCHDOG = _Watchdog()
ACTIVE = threading.local()  # the deadline of the response this thread is waiting for


def _register(connection: t.Any) -> None:
    """Hand the socket of the connection this thread is using to its deadline. The socket
    object is kept: http.client lets go of it (``sock = None``) once a response that
    closes the connection is under way, while its body is still being read."""
    deadline = getattr(ACTIVE, "deadline", None)
    if deadline is not None and connection.sock is not None:
        deadline.sock = connection.sock
        if deadline.expired:
            deadline.fire()


class _TrackedHTTPConnection(HTTPConnection):
    """A connection whose socket the deadline of the thread using it can reach (see ``_register``)."""

    @override
    def connect(self) -> None:
        super().connect()
        _register(self)

    @override
    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        _register(self)  # a kept-alive connection: connect() is not called again
        super().request(*args, **kwargs)


class _TrackedHTTPSConnection(_TrackedHTTPConnection, HTTPSConnection):
    """The same for https (``_TrackedHTTPConnection``'s hooks, then ``HTTPSConnection``'s own)."""


class _TrackedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


_TRACKED_POOLS = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, with connections the deadline watchdog can reach."""

    @override
    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _TRACKED_POOLS

    @override
    def proxy_manager_for(self, proxy: str, **proxy_kwargs: t.Any) -> urllib3.PoolManager:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _TRACKED_POOLS
        return manager


def new_session(pool_maxsize: int = 10) -> requests.Session:
    """A session whose requests go through ``DeadlineAdapter`` and never read the
    environment per request (``Transport`` passes proxies and CA bundle explicitly)."""
    session = requests.Session()
    adapter = DeadlineAdapter(pool_connections=4, pool_maxsize=pool_maxsize)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.trust_env = False
    session.headers["Accept-Encoding"] = ACCEPT_ENCODING
    return session
