"""Secrets are redacted by value wherever the tap writes: logs, errors, catalog, STATE.

Each secret is matched raw, URL-encoded (both ``quote`` and ``quote_plus`` forms)
and, for HTTP Basic, as the base64 of ``username:password``.
"""

from __future__ import annotations

import base64
import logging
import re
import typing as t
from urllib.parse import quote, quote_plus

from typing_extensions import override

MASK = "***REDACTED***"
#: Shorter values would mask ordinary text; such a secret is a config mistake anyway.
MIN_SECRET_LENGTH = 4


class Redactor:
    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern | None = None

    def add(self, *values: t.Any) -> None:
        for value in values:
            if value is None:
                continue
            text = str(value)
            if len(text) < MIN_SECRET_LENGTH:
                continue
            self._values.update({text, quote(text, safe=""), quote_plus(text), quote(text)})
        self._compile()

    def add_basic(self, username: str, password: str) -> None:
        self.add(base64.b64encode(f"{username}:{password}".encode()).decode())

    def _compile(self) -> None:
        ordered = sorted(self._values, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    @property
    def active(self) -> bool:
        """Whether any secret is registered."""
        return self._pattern is not None

    def contains(self, text: str) -> bool:
        """Whether ``text`` holds a secret in any of its forms."""
        return self._pattern is not None and bool(text) and self._pattern.search(text) is not None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)


REDACTOR = Redactor()


def redact_tree(value: t.Any) -> t.Any:
    """A JSON-like value with secrets masked in every string (for STATE)."""
    if isinstance(value, str):
        return REDACTOR(value)
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Rewrites each log record (message, arguments, traceback) with secrets masked."""

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        if not REDACTOR.active:
            return True
        message = record.getMessage()
        record.msg = REDACTOR(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = REDACTOR(record.exc_text)
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the filter to every handler there is now (root's and any logger's)."""
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
