"""Interrupting a template evaluation that runs past its time inside a filter's own loop.

The sandbox's hooks check the deadline at each operation, but a filter's own Python loop
(``wordwrap`` of a long word took 55 s) runs between hooks. An evaluation registers with
``OVERSEER``; its thread raises ``TemplateTimeout`` in the evaluating thread once the
deadline has passed (CPython's ``PyThreadState_SetAsyncExc``: delivered at the thread's next
bytecode), and a finished evaluation withdraws one not delivered yet.
"""

from __future__ import annotations

import ctypes
import threading
import time

from tap_restgeneric.template_sandbox import TIME_BUDGET


class TemplateTimeout(BaseException):
    """Raised into a thread whose evaluation passed TIME_BUDGET while inside a filter's own loop
    (a BaseException: no ``except Exception`` in a library swallows it)."""


class _Evaluation:
    __slots__ = ("deadline", "interrupted", "thread")

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.deadline = time.monotonic() + TIME_BUDGET
        self.interrupted = False


def _raise_in(thread: int, exception: type[BaseException] | None) -> None:
    """CPython's PyThreadState_SetAsyncExc: ``exception`` is raised in ``thread`` at its next
    bytecode (None withdraws one not raised yet)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(exception) if exception else None)


class _Overseer:
    """Interrupts evaluations that run past their deadline inside code the sandbox's hooks never
    see (a filter's own Python loop: ``wordwrap`` of a long word took 55 s). One daemon thread
    polls the evaluations running, while there are some; starting and finishing one is a dict
    update under a lock."""

    POLL = 0.05
    #: The thread rests after this long without evaluations.
    IDLE = 2.0

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running: dict[int, _Evaluation] = {}
        self._resting = True
        self._thread: threading.Thread | None = None

    def start(self) -> _Evaluation:
        evaluation = _Evaluation()
        with self._cond:
            self._running[evaluation.thread] = evaluation
            if self._resting:
                self._resting = False
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="tap-restgeneric-templates", daemon=True)
                    self._thread.start()
                else:
                    self._cond.notify()
        return evaluation

    def finish(self, evaluation: _Evaluation) -> None:
        with self._cond:
            if self._running.get(evaluation.thread) is evaluation:
                del self._running[evaluation.thread]
            if evaluation.interrupted:
                _raise_in(evaluation.thread, None)  # one not raised yet is withdrawn

    def _run(self) -> None:
        last_seen = time.monotonic()
        while True:
            with self._cond:
                now = time.monotonic()
                if self._running:
                    last_seen = now
                elif now - last_seen > self.IDLE:
                    self._resting = True
                    while self._resting:
                        self._cond.wait()
                    last_seen = time.monotonic()
                for evaluation in self._running.values():
                    if not evaluation.interrupted and now > evaluation.deadline:
                        evaluation.interrupted = True
                        _raise_in(evaluation.thread, TemplateTimeout)
            time.sleep(self.POLL)


OVERSEER = _Overseer()
