"""A stream that stops on purpose keeps the STATE of what it wrote.

A rate budget that asks for a longer wait than ``rate_limit.max_wait`` stops its stream with
``StoppedWithState``: before the error ends the run, a STATE covering the records already written goes out
(the bookmarks as they stand, without the SDK's progress markers, as after SIGTERM), so the next run resumes
there. With ``batch_config`` none is added: the STATE after the last BATCH is the one that holds.
"""

from __future__ import annotations

import contextlib
import copy
import typing as t

from singer_sdk import singerlib as singer

from tap_restgeneric.errors import StoppedWithState
from tap_restgeneric.state import without_progress_markers


@contextlib.contextmanager
def state_kept_on_stop(write: t.Callable[[t.Any], None], state: t.Callable[[], t.Any], *, batches: bool) -> t.Iterator[None]:
    """Around reading a stream's records: on ``StoppedWithState``, ``write`` the STATE of ``state()``, then re-raise."""
    try:
        yield
    except StoppedWithState:
        if not batches:
            write(singer.StateMessage(value=without_progress_markers(copy.deepcopy(state()))))
        raise
