"""Errors a user can act on: each renders as one line naming the key, stream or URL."""

from __future__ import annotations

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


class StreamError(RestGenericError):
    """A stream could not continue (bad response, refused credentials, paging loop)."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM stopped the sync (a BaseException: nothing on the way may swallow it)."""

    def __init__(self, signum: int, state: dict | None) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum
        #: The STATE to write last: it covers the records written before the signal (None: the
        #: last STATE written already does, as with batch files).
        self.state = state
