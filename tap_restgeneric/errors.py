"""Errors a user can act on: each renders as one line naming the key, stream or URL."""

from __future__ import annotations

import dataclasses
import re
import typing as t

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")


def config_path(where: str, key: t.Any) -> str:
    """``where`` + one more step: ``.key``, ``[3]``, or ``['a key']`` when the key is not a plain name."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    if _PLAIN_KEY.match(str(key)):
        return f"{where}.{key}" if where else str(key)
    return f"{where}[{str(key)!r}]"


def format_path(parts: t.Iterable[t.Any]) -> str:
    """``resources[3].endpoint.paginator``; a key that is not a plain name is quoted (``headers['X Y']``)."""
    text = ""
    for part in parts:
        text = config_path(text, part)
    return text


class RestGenericError(Exception):
    """Base class: the CLI prints ``str(exc)`` on one line and exits non-zero."""


class SourceConfigError(RestGenericError):
    """The source config (or a setting) is invalid; carries every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class NoSourceError(SourceConfigError):
    """None of the settings api, source, source_file is set (the base Meltano plugin as installed)."""


class TemplateEvaluationError(SourceConfigError):
    """A config template failed or went over its limits while evaluated; names its config path."""

    def __init__(self, message: str) -> None:
        super().__init__([message])


class StateError(RestGenericError):
    """The state given with --state cannot be read (its shape, or a bookmark that is not a cursor value)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def stream_line(stream: str, message: str, context: str = "") -> str:
    """How every message about a stream reads, errors and log lines alike:
    ``stream 'comments' (for the 'issues' record with number=3): <message>``."""
    return f"stream '{stream}'{context}: {message}"


class StreamError(RestGenericError):
    """A stream could not continue (bad response, refused credentials, paging loop).

    It names its ``stream`` and, for a child stream, the parent record it was read for (``context``:
    see ``ParentLink.label``), as fields; its text is made in one place, :func:`stream_line`. An
    error about something other than a stream (a token endpoint, a recording) says what it is
    about in ``subject``, or in the message itself."""

    def __init__(self, message: str, *, stream: str | None = None, context: str = "", subject: str | None = None) -> None:
        self.message = message
        self.stream = stream
        self.context = context
        self.subject = subject
        super().__init__(self.text)

    @property
    def text(self) -> str:
        if self.stream is not None:
            return stream_line(self.stream, self.message, self.context)
        return f"{self.subject}: {self.message}" if self.subject else self.message


class StoppedWithState(StreamError):
    """A stream stopped on purpose instead of waiting (a rate budget asks for a longer wait than allowed): the
    STATE covering the records it wrote is written before the error (``streams.stops``)."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM stopped the sync (a BaseException: nothing on the way may swallow it)."""

    def __init__(self, signum: int, state: dict | None) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum
        #: The STATE to write last: it covers the records written before the signal (None: the
        #: last STATE written already does, as with batch files).
        self.state = state


@dataclasses.dataclass(frozen=True)
class Subject:
    """What a part's messages are about: a stream, or something else (``OAuth2 token request to …``)."""

    stream: str | None = None
    other: str | None = None

    def line(self, message: str, context: str = "") -> str:
        """A log line about the subject (the format of :func:`stream_line`)."""
        if self.stream is not None:
            return stream_line(self.stream, message, context)
        return f"{self.other}: {message}" if self.other else message

    def error(self, message: str, kind: type[StreamError] = StreamError, context: str = "") -> StreamError:
        return kind(message, stream=self.stream, context=context, subject=self.other)
