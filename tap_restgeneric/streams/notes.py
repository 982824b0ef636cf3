"""What a stream says once: a line the first time it has something to say, a warning the first time per topic."""

from __future__ import annotations

import typing as t

from tap_restgeneric.errors import stream_line

if t.TYPE_CHECKING:
    import logging


class Notes:
    """One stream's say-once lines (its parts share it: the paginator's choice, a record's odd cursor...)."""

    def __init__(self, stream: str, logger: logging.Logger) -> None:
        self.stream = stream
        self.logger = logger
        self._said: set[str] = set()
        self._warned: set[str] = set()

    def info_once(self, message: str) -> None:
        """``stream '<name>': <message>`` at INFO, the first time only."""
        if message not in self._said:
            self._said.add(message)
            self.logger.info("%s", stream_line(self.stream, message))

    def warn_once(self, topic: str, message: str) -> None:
        """``message`` as a WARNING, the first time something is said about ``topic`` in this stream."""
        if topic not in self._warned:
            self._warned.add(topic)
            self.logger.warning("%s", message)
