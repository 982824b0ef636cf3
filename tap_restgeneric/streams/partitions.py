"""The SDK's stream state manager, finding a state partition by key instead of by a scan.

The SDK finds the state of a partition by scanning the stream's list of partitions, and
does so for every record and several times per child context. An incremental child has one
partition per parent, so a sync of N parents cost O(N²): 3,000 parents spent 5.6 s of a
10.8 s sync in those scans (``benchmarks/fanout.py``, cProfile). Here the partitions are
also held in a dict by their key (a JSON text), rebuilt if the list changed behind it.
"""

from __future__ import annotations

import typing as t

from singer_sdk.streams._state import StreamStateManager  # private module: the SDK's own state manager
from typing_extensions import override

from tap_restgeneric.state import partition_key


class IndexedStateManager(StreamStateManager):
    """The SDK's state manager with a dict of the partitions by key, and at most ``cap`` of them:
    beyond it, a new partition is handed out but not kept in the state (its bookmark is lost)."""

    _index: dict[str, dict] | None = None
    _indexed: list | None = None

    def __init__(self, *, cap: int | None = None, **sdk_arguments: t.Any) -> None:
        super().__init__(**sdk_arguments)
        #: Partitions kept at most (None: no bound).
        self.cap = cap
        #: Partitions handed out beyond the cap, by key (kept until the context is settled).
        self._detached: dict[str, dict] = {}

    def _partitions(self) -> tuple[list, dict[str, dict]]:
        partitions: list = self.stream_state.setdefault("partitions", [])
        if self._index is None or self._indexed is not partitions or len(self._index) != len(partitions):
            self._last = None  # the list changed behind the index: its partitions may be other ones
            self._index = {partition_key(p.get("context") or {}): p for p in partitions}
            self._indexed = partitions
        return partitions, self._index

    #: The last context asked for and its partition: the SDK asks again for every record of one
    #: parent, with the same context (a JSON key per record cost 3.8 µs, more than the record).
    _last: tuple[t.Any, tuple, dict] | None = None

    @override
    def get_context_state(self, context: t.Any) -> dict:
        last = self._last
        if last is not None and context is last[0] and tuple(context.items()) == last[1]:
            return last[2]
        key = self.get_state_partition_context(context)
        if not key:
            return super().get_context_state(context)
        found = self._partition(key)
        self._last = (context, tuple(context.items()), found)
        return found

    def _partition(self, key: t.Mapping[str, t.Any]) -> dict:
        partitions, index = self._partitions()
        text = partition_key(key)
        found = index.get(text)
        if found is None:
            detached = self._detached
            found = detached.get(text)
            if found is None:
                found = {"context": dict(key)}
                if self.cap is not None and len(partitions) >= self.cap:
                    detached[text] = found
                else:
                    index[text] = found
                    partitions.append(found)
        return found

    def is_kept(self, context: t.Any) -> bool:
        """Whether the partition of ``context`` is in the state (not beyond the cap)."""
        key = self.get_state_partition_context(context)
        return bool(key) and partition_key(key) in self._partitions()[1]

    def find(self, context: t.Any) -> dict | None:
        """The partition of ``context``, if the state has one (none is created)."""
        key = self.get_state_partition_context(context)
        return self._partitions()[1].get(partition_key(key)) if key else None

    def drop(self, context: t.Any) -> None:
        """Forget the partition of ``context`` (a new one is the last: then O(1))."""
        self._last = None
        key = self.get_state_partition_context(context)
        if not key:
            return
        text = partition_key(key)
        self._detached.pop(text, None)
        partitions, index = self._partitions()
        found = index.pop(text, None)
        if found is None:
            return
        if partitions and partitions[-1] is found:
            partitions.pop()
        else:
            partitions.remove(found)


def bookmark_state(
    manager: StreamStateManager, tap_state: t.Mapping[str, t.Any], stream: str, context: t.Any
) -> t.Mapping[str, t.Any]:
    """The state holding the bookmark of a stream's ``context``, read without creating a partition for it
    (a stream's entry appears in STATE once it syncs, not when its pages are requested ahead)."""
    if isinstance(manager, IndexedStateManager):
        return manager.find(context) or {}
    state: t.Mapping[str, t.Any] = (tap_state.get("bookmarks") or {}).get(stream) or {}
    return state
