"""Children of upcoming parents, requested while the current parent's children are written.

The SDK syncs a child stream one parent record at a time: with 50 ms per request, 1,000 parents
take 50 s of waiting even when each has one page of children. When a parent page arrives, the
child's pages for each of its records are requested on up to ``concurrency`` threads; the SDK
then syncs the children in parent order as before, reading the pages fetched for it. Each
parent's pages are kept in their order, at most ``PAGES_AHEAD`` of them waiting per parent, and
records are written (and STATE moves) only when the SDK reaches that parent, so STATE still
covers exactly the records written. An error in a parent's pages is raised when its turn comes,
after the records of the parents before it.
"""

from __future__ import annotations

import queue
import threading
import typing as t

from tap_restgeneric.http.partitions import partition_key

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from tap_restgeneric.http.paginators import Page

#: Pages of one job fetched before the SDK reaches it.
PAGES_AHEAD = 2
#: Seconds a worker waits for a job before it ends.
IDLE_SECONDS = 1.0
#: Streams requested at once (the stream_concurrency default): the presets' streams (up to 14) are
#: fetched eight at a time, so a preset takes about its two longest chains of requests.
DEFAULT_STREAM_CONCURRENCY = 8
#: Requests in flight at once across the tap (the max_concurrency default): at 200 ms a response,
#: 16 keep a fan-out of single-page children over ten times faster than one request at a time,
#: and every request is still under max_requests_per_second and Retry-After pauses.
DEFAULT_MAX_CONCURRENCY = 16
_DONE = object()


class _Job:
    def __init__(self, start: t.Any) -> None:
        self.start = start
        self.pages: queue.Queue[t.Any] = queue.Queue(PAGES_AHEAD)
        self.cancelled = threading.Event()

    def put(self, item: t.Any) -> bool:
        """Wait for room (the consumer reads in order); False once nobody will read."""
        while not self.cancelled.is_set():
            try:
                self.pages.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False


class FanOut:
    """Pages fetched ahead on up to ``concurrency`` threads, one job per key (a child stream's parents,
    or the tap's streams), read back in the order the SDK asks for them.

    ``fetch_pages(context, start, cancelled)`` yields one job's pages from the incremental ``start``
    (read from STATE before, on the stream's thread); ``cancelled`` is set when they are no longer
    wanted (its requests then stop retrying). The threads are daemons: a sync that fails or is
    interrupted never waits for pages nobody will read."""

    def __init__(
        self,
        name: str,
        concurrency: int,
        fetch_pages: Callable[[t.Any, t.Any, threading.Event], Iterator[Page]],
        key: Callable[[t.Mapping[str, t.Any]], t.Any] | None = None,
    ) -> None:
        self.name = name
        self.concurrency = concurrency
        self.fetch_pages = fetch_pages
        #: What makes two jobs the same (an incremental child's: the parent fields its bookmark is kept by).
        self.key = key or partition_key
        self._jobs: dict[str, _Job] = {}
        self._tasks: queue.SimpleQueue[tuple[_Job, t.Any]] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._order: dict[t.Any, int] = {}  # key -> when it was submitted
        self._submitted = 0
        #: Set by the first submitter when the jobs are all known up front (the tap's streams).
        self.started = False

    def submit(self, jobs: Iterable[tuple[t.Mapping[str, t.Any], t.Any]]) -> None:
        """Start fetching these jobs, given as (context, start), in order (a context already under
        way is not fetched twice: its second turn is synced inline, from the state the first left)."""
        if self.concurrency <= 1:
            return
        queued = False
        for context, start in jobs:
            key = self.key(context)
            if key not in self._jobs:
                job = self._jobs[key] = _Job(start)
                self._submitted += 1
                self._order[key] = self._submitted
                self._tasks.put((job, context))
                queued = True
        if not queued:
            return
        with self._lock:
            while len(self._workers) < self.concurrency:
                worker = threading.Thread(target=self._work, name=f"{self.name}-ahead-{len(self._workers)}", daemon=True)
                self._workers.append(worker)
                worker.start()

    def _work(self) -> None:
        # Jobs run in the order submitted, and the SDK reads them in that order; a job it passes by
        # (a record a stream map filters out) is cancelled when it takes a later one (``take``), so
        # the job it reads next is always running or done and workers waiting for room never starve it.
        # A worker idle for IDLE_SECONDS ends (a sync in a long-lived process leaves no thread behind).
        while True:
            try:
                job, context = self._tasks.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:  # submit() counts the workers under the same lock after queueing
                    if self._tasks.empty():
                        self._workers.remove(threading.current_thread())
                        return
                continue
            if not job.cancelled.is_set():
                self._run(job, context)

    def _run(self, job: _Job, context: t.Mapping[str, t.Any]) -> None:
        try:
            for page in self.fetch_pages(context, job.start, job.cancelled):
                if not job.put(page):
                    return
            job.put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - raised in the consumer, in parent order
            job.put(exc)

    def take(self, context: t.Mapping[str, t.Any]) -> tuple[t.Any, Iterator[Page]] | None:
        """The start and the pages fetched ahead for this parent, in order; None if they were not.
        Jobs submitted before it and not taken will not be: they are cancelled."""
        key = self.key(context)
        job = self._jobs.pop(key, None)
        if job is None:
            return None
        taken = self._order.pop(key)
        for passed in [k for k in self._jobs if self._order[k] < taken]:
            self._jobs.pop(passed).cancelled.set()
            del self._order[passed]
        return job.start, self._read(job)

    @staticmethod
    def _read(job: _Job) -> Iterator[Page]:
        try:
            while True:
                item = job.pages.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            job.cancelled.set()

    def cancel(self) -> None:
        """Stop every fetch not read yet (the parent stream ended, or failed)."""
        for job in self._jobs.values():
            job.cancelled.set()
        self._jobs.clear()
        self._order.clear()  # the workers skip the cancelled jobs and end once idle
