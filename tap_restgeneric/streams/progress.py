"""What a stream did, said as it goes and when it ends.

While a stream runs, a line at most every ``PROGRESS_INTERVAL`` seconds (records so far and the
rate); when it ends, one line with its records, pages, retries, wall time and the rule that
ended its paging (``empty page``, ``short page (…)``, ``total reached (…)``, ``no next link``,
``has_more is false``, ``max_pages``…)::

    stream 'users': 2,500 records, 25 pages, 1 retry, 3.1 s; paging stopped: short page (0 records, limit 100)

A child stream says it once for all its parents (``… under 120 parents; paging stopped: empty
page (80), short page (40)``).

That line is the summary a user reads by default: the SDK's METRIC lines (one per HTTP request, and
per stream or parent record) are logged only at the level ``metrics_log_level`` or ``LOGLEVEL=DEBUG``
asks for (:func:`metrics_level`).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import time
import typing as t

from singer_sdk import typing as th
from singer_sdk.plugin_base import _plugin_log_level  # private: the SDK's reading of LOGLEVEL / TAP_<NAME>_LOGLEVEL

from tap_restgeneric.errors import stream_line

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from tap_restgeneric.paging.page import Page

#: Seconds between the progress lines of a long stream.
PROGRESS_INTERVAL = 10.0
#: The ``metrics_log_level`` setting (one of the tap's settings; see :func:`metrics_level`).
METRICS_LOG_LEVEL = th.Property(
    "metrics_log_level",
    th.StringType(allowed_values=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]),
    description=(
        "Level of the SDK's METRIC lines (one per HTTP request, per stream and per parent record): INFO or DEBUG "
        "logs them, WARNING or above does not. Default: logged only when LOGLEVEL is DEBUG (each stream's "
        "closing line sums up its records, pages, retries and time)."
    ),
)


def metrics_level(setting: str | None, plugin_name: str) -> int:
    """The level of the SDK's metrics logger: the ``metrics_log_level`` setting, else INFO (METRIC
    lines logged) when the plugin's log level (LOGLEVEL, or TAP_RESTGENERIC_LOGLEVEL) is DEBUG, else
    WARNING (none logged: 1,500 METRIC lines for a 1,500-page sync, where the closing line says it all)."""
    level = logging.getLevelName(str(setting).upper()) if setting else None
    if isinstance(level, int):
        return level
    log_level = logging.getLevelName(_plugin_log_level(plugin_name=plugin_name))
    return logging.INFO if isinstance(log_level, int) and log_level <= logging.DEBUG else logging.WARNING


@dataclasses.dataclass
class Progress:
    """One stream's counts (a child's: over all its parents)."""

    name: str
    logger: logging.Logger
    records: int = 0
    pages: int = 0
    contexts: int = 0
    seconds: float = 0.0
    #: Records dropped for lacking their primary key (on_missing_key: drop).
    dropped_without_key: int = 0
    reasons: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    _started: float = dataclasses.field(default=0.0, init=False)
    _said: float = dataclasses.field(default=0.0, init=False)

    def track(self, pages: Iterable[Page]) -> Iterator[Page]:
        """``pages``, counted; the reason paging stopped is read off the last page once it is done."""
        self.contexts += 1
        self._started = self._said = time.monotonic()
        last = None
        try:
            for last in pages:
                self.pages += 1
                yield last
                now = time.monotonic()
                if now - self._said >= PROGRESS_INTERVAL:
                    self._said = now
                    rate = self.records / max(now - self._started, 1e-9)
                    self.logger.info("%s", stream_line(self.name, f"{self.records:,} records so far ({rate:,.0f}/s)"))
        finally:
            self.seconds += time.monotonic() - self._started
            if last is not None and last.stop_reason:
                self.reasons[last.stop_reason] += 1

    def summary(self, retried: int, note: str = "") -> str:
        """The stream's closing line; ``retried``: its requests sent again (the stream's retry handler counts them);
        ``note``: what else it says (``; the bookmark did not move: …``)."""
        retries = f", {retried} retr{'y' if retried == 1 else 'ies'}" if retried else ""
        parents = f" under {self.contexts:,} parents" if self.contexts > 1 else ""
        if len(self.reasons) == 1 and self.contexts <= 1:
            stopped = next(iter(self.reasons))
        else:
            stopped = ", ".join(f"{reason} ({count:,})" for reason, count in self.reasons.most_common()) or "no page read"
        dropped = self.dropped_without_key
        without_key = f", {dropped:,} dropped without their key (on_missing_key: drop)" if dropped else ""
        return stream_line(
            self.name,
            f"{self.records:,} records{without_key}, {self.pages:,} pages{retries}, {self.seconds:.1f} s"
            f"{parents}; paging stopped: {stopped}{note}",
        )
