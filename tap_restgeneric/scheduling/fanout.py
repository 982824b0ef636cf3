"""Children of upcoming parents, requested while the current parent's children are written.

The SDK syncs a child stream one parent record at a time: with 50 ms per request, 1,000 parents
take 50 s of waiting even when each has one page of children. When a parent page arrives, the
child's pages for each of its records are requested on up to ``concurrency`` threads; the SDK
then syncs the children in parent order as before, reading the pages fetched for it. Each
parent's pages are kept in their order, at most ``PAGES_AHEAD`` of them waiting per parent, and
records are written (and STATE moves) only when the SDK reaches that parent, so STATE still
covers exactly the records written. An error in a parent's pages is raised when its turn comes,
after the records of the parents before it.

What waits is bounded whatever the number of jobs (parents, or the tap's streams): a worker that
finishes a job moves on to the next one, so without a bound every job's pages would wait in
memory until read (180 single-page streams of 2 MiB each held 800 MB). A worker fetches a job's
next page only when the pages waiting in its fan-out are fewer than ``concurrency`` x
``PAGES_AHEAD`` and the bodies waiting across the tap (a ``PageBudget`` the fan-outs share: the
``max_buffer_mb`` setting) are under their limit. The job being read is exempt (it is what the
SDK waits for), so the bound never stalls the sync; its pages count all the same.
"""

from __future__ import annotations

import queue
import threading
import typing as t

from tap_restgeneric.paging.page import Page
from tap_restgeneric.settings import DEFAULT_MAX_BUFFER_MB
from tap_restgeneric.state import partition_key

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator


#: Pages of one job fetched before the SDK reaches it.
PAGES_AHEAD = 2
#: Seconds a worker waits for a job before it ends.
IDLE_SECONDS = 1.0
_DONE = object()


class PageBudget:
    """The bytes of response bodies fetched ahead and not read yet, shared by the tap's fan-outs.

    Its condition guards every fan-out's counts too: one lock, so a page counted by a worker and
    uncounted by the reader (or by a cancel) is never counted twice or lost."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.waiting_bytes = 0
        self.condition = threading.Condition()


class _Job:
    def __init__(self, start: t.Any) -> None:
        self.start = start
        self.pages: queue.Queue[t.Any] = queue.Queue(PAGES_AHEAD)
        self.cancelled = threading.Event()
        #: The SDK is reading this job (``take``): it may fetch whatever the budget says.
        self.taken = False
        #: Pages of this job counted as waiting (queued, or being fetched) and their bytes.
        self.held_pages = 0
        self.held_bytes = 0

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
    interrupted never waits for pages nobody will read. ``budget`` bounds the bytes waiting (shared
    with the tap's other fan-outs; see the module docstring)."""

    def __init__(
        self,
        name: str,
        concurrency: int,
        fetch_pages: Callable[[t.Any, t.Any, threading.Event], Iterator[Page]],
        key: Callable[[t.Mapping[str, t.Any]], t.Any] | None = None,
        budget: PageBudget | None = None,
    ) -> None:
        self.name = name
        self.concurrency = concurrency
        self.fetch_pages = fetch_pages
        #: What makes two jobs the same (an incremental child's: the parent fields its bookmark is kept by).
        self.key = key or partition_key
        self.budget = budget or PageBudget(DEFAULT_MAX_BUFFER_MB * 1024 * 1024)
        #: Pages waiting (queued or being fetched) over all jobs not read yet, and their bound.
        self.waiting_pages = 0
        self.max_waiting_pages = concurrency * PAGES_AHEAD
        #: The largest page fetched so far: what a page about to be fetched is counted at (None: none yet).
        self.largest_page: int | None = None
        self._jobs: dict[str, _Job] = {}
        self._tasks: queue.SimpleQueue[tuple[_Job, t.Any]] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._order: dict[t.Any, int] = {}  # key -> when it was submitted
        self._submitted = 0

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
            pages = iter(self.fetch_pages(context, job.start, job.cancelled))
        except BaseException as exc:  # noqa: BLE001 - raised in the consumer, in parent order
            job.put(exc)
            return
        while (estimate := self._reserve(job)) is not None:
            try:
                page = next(pages, _DONE)
            except BaseException as exc:  # noqa: BLE001 - (as above)
                page = exc
            if not isinstance(page, Page):  # the end, or an error: no page waits after all
                self._release(job, 1, estimate)
                job.put(page)
                return
            if not self._hold(job, page.size, estimate) or not job.put(page):
                return

    # What waits is counted under the budget's condition (see the module docstring). A page is
    # counted from the moment a worker may fetch it, at the size of the largest page of this
    # fan-out so far (until one has been fetched, one is fetched at a time), and at its own size
    # once fetched: workers fetching at once stay within the budget together, unless a page is
    # larger than every one before it (or than the budget: then it waits alone).

    def _reserve(self, job: _Job) -> int | None:
        """Wait until ``job`` may fetch one more page: the bytes counted for it until it is fetched
        (None: the job was cancelled)."""
        budget = self.budget
        with budget.condition:
            while not job.cancelled.is_set():
                estimate = self.largest_page
                # Until a page has told what a page weighs, one is fetched at a time.
                sized = self.largest_page is not None or self.waiting_pages == 0
                if job.taken or (
                    sized
                    and self.waiting_pages < self.max_waiting_pages
                    and budget.waiting_bytes + (estimate or 0) <= max(budget.max_bytes, estimate or 0)
                ):
                    estimate = estimate or 0
                    job.held_pages += 1
                    self.waiting_pages += 1
                    job.held_bytes += estimate
                    budget.waiting_bytes += estimate
                    return estimate
                budget.condition.wait(0.1)  # woken by a release, a take or a cancel; the timeout is a safety net
        return None

    def _hold(self, job: _Job, size: int, estimate: int) -> bool:
        """A page of ``size`` bytes fetched for ``job``, counted at ``estimate`` until now (False: the
        job was cancelled meanwhile)."""
        budget = self.budget
        with budget.condition:
            if job.cancelled.is_set():
                return False
            self.largest_page = max(self.largest_page or 0, size)
            job.held_bytes += size - estimate
            budget.waiting_bytes += size - estimate
        return True

    def _release(self, job: _Job, pages: int, size: int) -> None:
        """Pages of ``job`` that no longer wait (read, or not fetched after all)."""
        budget = self.budget
        with budget.condition:
            pages, size = min(pages, job.held_pages), min(size, job.held_bytes)  # 0 once the job is retired
            job.held_pages -= pages
            job.held_bytes -= size
            self.waiting_pages -= pages
            budget.waiting_bytes -= size
            budget.condition.notify_all()

    def _retire(self, job: _Job) -> None:
        """Nobody will read ``job`` (further): it stops, and what it held no longer counts."""
        with self.budget.condition:
            job.cancelled.set()
            self._release(job, job.held_pages, job.held_bytes)

    def take(self, context: t.Mapping[str, t.Any]) -> tuple[t.Any, Iterator[Page]] | None:
        """The start and the pages fetched ahead for this parent, in order; None if they were not.
        Jobs submitted before it and not taken will not be: they are cancelled."""
        key = self.key(context)
        job = self._jobs.pop(key, None)
        if job is None:
            return None
        taken = self._order.pop(key)
        for passed in [k for k in self._jobs if self._order[k] < taken]:
            self._retire(self._jobs.pop(passed))
            del self._order[passed]
        with self.budget.condition:
            job.taken = True  # what the SDK waits for is never held back by the bound
            self.budget.condition.notify_all()
        return job.start, self._read(job)

    def _read(self, job: _Job) -> Iterator[Page]:
        try:
            while True:
                item = job.pages.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                self._release(job, 1, item.size)
                yield item
        finally:
            self._retire(job)

    def cancel(self) -> None:
        """Stop every fetch not read yet (the parent stream ended, or failed)."""
        for job in self._jobs.values():
            self._retire(job)
        self._jobs.clear()
        self._order.clear()  # the workers skip the cancelled jobs and end once idle
