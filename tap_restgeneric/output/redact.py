"""Secrets are redacted by value wherever the tap writes: logs, errors, recordings, the doctor,
records (stdout and batch files), STATE and the catalog.

A secret is matched in every form it takes in text, each character independently:

- raw, URL-encoded (``quote``, ``quote_plus``; upper or lower case hex; encoded again as ``%25``),
- JSON- or Python-escaped (``\\/``, ``\\"``, ``\\u002f``, a surrogate pair, ``\\x2f``, any number of
  backslashes before a character, as a JSON string inside a JSON string has),
- HTML-escaped (``&amp;``, ``&#47;``, ``&#x2F;``),
- base64 (standard and URL-safe alphabets): the secret alone, and the part of the base64 of any
  text holding the secret that depends on it alone (three alignments), so that the Basic
  ``user:password`` of any user is matched too.

Text cut for an error line goes through :func:`excerpt`: the whole text is redacted first, then
cut, then a trailing fragment that could be the start of a secret in any of those forms is dropped.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import re
import threading
import typing as t

from typing_extensions import override

MASK = "***REDACTED***"
#: Shorter values would mask ordinary text; such a secret is a config mistake anyway.
MIN_SECRET_LENGTH = 4
#: Base64 of part of a secret is matched from this many characters on (shorter runs of base64
#: characters are everywhere in ordinary text).
MIN_BASE64_CORE = 8
#: Named HTML entities of the characters that have one in every HTML version.
_HTML_NAMES = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "(?:apos|#39)"}
_JSON_SHORT = {"\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
#: An escape cut short at the end of a text: ``%2``, ``\\u00``, ``&#x2``...
_PARTIAL_ESCAPE = re.compile(r"(?:%(?:25)*[0-9A-Fa-f]?|\\+(?:u[0-9A-Fa-f]{0,3}|x[0-9A-Fa-f]?)?|&#?[xX]?[0-9A-Za-z]{0,6})\Z")


def _hex(value: int, digits: int) -> str:
    """``value`` in hex as a regex matching either case (``2f`` -> ``2[fF]``)."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{digits}x}")


#: Bounds of the repeats in a character's forms (backslashes of JSON in JSON, ``%25`` of URL
#: encoding again, leading zeros): a match has a bounded length, so long texts are searched only
#: around the places a secret could be.
_BACKSLASHES = 8
_REENCODED = 3
_CHAR_SPAN = 2 * (_BACKSLASHES + 6) + 2 * _REENCODED * 4


def _char_pattern(char: str) -> str:
    """Every form of one character of a secret, as a regex. Letters and digits are matched as they
    are: no encoder escapes them, and a secret's runs of them anchor the search."""
    if char.isascii() and char.isalnum():
        return char
    code = ord(char)
    slashes = rf"\\{{1,{_BACKSLASHES}}}"
    forms = [re.escape(char)]
    forms.append("".join(f"%(?:25){{0,{_REENCODED}}}{_hex(byte, 2)}" for byte in char.encode("utf-8", "surrogatepass")))
    if code < 0x10000:
        forms.append(f"{slashes}u{_hex(code, 4)}")
    else:  # a surrogate pair in JSON
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(f"{slashes}u{_hex(high, 4)}{slashes}u{_hex(low, 4)}")
    if code < 0x100:
        forms.append(f"{slashes}x{_hex(code, 2)}")
    forms.append(f"&#0{{0,4}}{code};")
    forms.append(f"&#[xX]0{{0,4}}{_hex(code, 1)};")
    if char in _HTML_NAMES:
        forms.append(f"&{_HTML_NAMES[char]};")
    if char in _JSON_SHORT:
        forms.append(f"{slashes}{_JSON_SHORT[char]}")
    if char == " ":
        forms.append(r"\+")
    return rf"\\{{0,{_BACKSLASHES}}}(?:" + "|".join(forms) + ")"


def base64_forms(data: bytes) -> set[str]:
    """The base64 of ``data`` (padded and not, both alphabets), and, when long enough, the part of
    the base64 of any text holding ``data`` at each of the three alignments that only ``data`` decides."""
    forms = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(data).decode()
        forms.update({whole, whole.rstrip("=")})
        for lead in range(3):
            encoded = encode(b"\0" * lead + data + b"\0\0").decode()
            first = -(-8 * lead // 6)  # the first character made of the data's bits alone
            last = (8 * (lead + len(data))) // 6  # one past the last such character
            core = encoded[first:last]
            if len(core) >= MIN_BASE64_CORE:
                forms.add(core)
    return forms


#: The anchor of a secret: its longest run of letters and digits, which every form holds as is.
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
#: Anchors shorter than this are found everywhere: a secret without a longer run is searched for whole.
MIN_ANCHOR = 3


@dataclasses.dataclass(frozen=True)
class _Patterns:
    """What the redactor searches with, built whole for the secrets known at one time."""

    source: str  # the alternation of every secret's forms
    full: re.Pattern[str]
    #: Runs of letters and digits, one of which every form of every secret holds; None: some secret
    #: has no run long enough, and texts are searched whole.
    anchors: re.Pattern[str] | None
    #: The same runs, for a quick ``in`` test first (a few C substring searches are several times
    #: faster than one alternation of them in ``re``).
    anchor_texts: tuple[str, ...]
    #: The longest text a match can span.
    span: int

    @classmethod
    def of(cls, values: t.AbstractSet[str]) -> _Patterns:
        ordered = sorted(values, key=len, reverse=True)
        source = "|".join("".join(_char_pattern(char) for char in value) for value in ordered)
        runs = sorted({max(_ALNUM_RUN.findall(value), key=len, default="") for value in ordered}, key=len, reverse=True)
        anchors = None
        if all(len(run) >= MIN_ANCHOR for run in runs):
            anchors = re.compile("|".join(map(re.escape, runs)))
        return cls(source, re.compile(source), anchors, tuple(runs), max(map(len, ordered)) * _CHAR_SPAN)

    def windows(self, text: str) -> list[tuple[int, int]]:
        """Where in ``text`` a secret can be: around each anchor, merged (all of it: no anchors)."""
        if self.anchors is None:
            return [(0, len(text))]
        if not any(anchor in text for anchor in self.anchor_texts):
            return []
        found: list[tuple[int, int]] = []
        for hit in self.anchors.finditer(text):
            start, end = max(hit.start() - self.span, 0), min(hit.end() + self.span, len(text))
            if found and start <= found[-1][1]:
                found[-1] = (found[-1][0], end)
            else:
                found.append((start, end))
        return found


def _positions(data: bytes | bytearray, anchor: bytes) -> t.Iterator[int]:
    at = data.find(anchor)
    while at >= 0:
        yield at
        at = data.find(anchor, at + 1)


class Redactor:
    """The secrets the tap knows; called on a text, it returns the text with each masked."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._patterns: _Patterns | None = None
        self._bytes: tuple[_Patterns, re.Pattern[bytes], tuple[bytes, ...] | None] | None = None
        self._partial: t.Any = None  # the full pattern in the regex module, for partial matches

    def add(self, *values: t.Any) -> None:
        fresh = set()
        for value in values:
            if value is None:
                continue
            text = str(value)
            if len(text) < MIN_SECRET_LENGTH:
                continue
            fresh.add(text)
            fresh.update(base64_forms(text.encode("utf-8", "surrogatepass")))
        self._extend(fresh)

    def forget(self) -> None:
        """Forget every secret: a process that runs the tap again (the tests run many syncs in one
        process) starts each run as a fresh process would, masking only that run's secrets."""
        with self._lock:
            self._values = set()
            self._patterns = None
            self._bytes = None
            self._partial = None

    def add_basic(self, username: str, password: str) -> None:
        """HTTP Basic credentials: ``username:password`` in base64 (the password alone is added too)."""
        self.add(password)
        self._extend(base64_forms(f"{username}:{password}".encode()))

    def _extend(self, fresh: set[str]) -> None:
        with self._lock:
            if fresh <= self._values:
                return
            self._values |= fresh
            # Built whole, then swapped in: threads redacting meanwhile use the previous patterns.
            self._patterns = _Patterns.of(self._values)

    @property
    def active(self) -> bool:
        """Whether any secret is registered."""
        return self._patterns is not None

    def contains(self, text: str) -> bool:
        """Whether ``text`` holds a secret in any of its forms."""
        patterns = self._patterns
        if patterns is None or not text:
            return False
        return any(patterns.full.search(text, start, end) for start, end in patterns.windows(text))

    def contains_bytes(self, data: bytes | bytearray) -> bool:
        """Whether UTF-8 ``data`` holds a secret in any of its forms (a response body)."""
        patterns, compiled = self._patterns, self._bytes
        if patterns is None:
            return False
        if compiled is None or compiled[0] is not patterns:
            anchors = tuple(text.encode() for text in patterns.anchor_texts) if patterns.anchors is not None else None
            compiled = self._bytes = (patterns, re.compile(patterns.source.encode("utf-8", "surrogatepass")), anchors)
        _, full, anchors = compiled
        if anchors is None:
            return full.search(data) is not None
        found = [at for anchor in anchors for at in _positions(data, anchor)]
        return any(full.search(data, max(at - patterns.span, 0), at + patterns.span) for at in found)

    def __call__(self, text: str) -> str:
        patterns = self._patterns
        if patterns is None or not text:
            return text
        pieces = []
        done = 0
        for start, end in patterns.windows(text):
            pieces.append(text[done:start])
            pieces.append(patterns.full.sub(MASK, text[start:end]))
            done = end
        if not pieces:
            return text
        pieces.append(text[done:])
        return "".join(pieces)

    def without_secret_start(self, text: str) -> str:
        """``text`` (redacted already) without a trailing fragment that could be the start of a
        secret in any form, or of an escape sequence: the end of a text that was cut."""
        text = _PARTIAL_ESCAPE.sub("", text)
        patterns = self._patterns
        if patterns is None or not text:
            return text
        cached = self._partial
        if cached is None or cached[0] is not patterns:
            import regex  # noqa: PLC0415 - only when a text with secrets is cut (the stdlib has no partial matching)

            cached = self._partial = (patterns, regex.compile(patterns.source))
        found = cached[1].search(text, partial=True)
        if found is not None and found.start() < len(text):
            return _PARTIAL_ESCAPE.sub("", text[: found.start()])
        return text


#: The process's one redactor. It is process-wide because what it guards is: the logging handlers (its
#: filter), the message writer the SDK makes, and the CLI's last error line, which is written after the tap
#: object is gone. The secrets of the config are registered in one place (``TapRestGeneric._register_secrets``:
#: the ``secrets`` setting when the config is first seen, the auth blocks' once the source is read); a
#: credential obtained at run time is registered where it is obtained (an OAuth2 token by its authenticator,
#: given this redactor; a token response by the recording that saves it).
REDACTOR = Redactor()


def excerpt(text: str, limit: int = 200, redactor: Redactor = REDACTOR) -> str:
    """At most ``limit`` characters of ``text`` (a response body...) for an error line, on one
    line: redacted whole first, then cut (never inside a mask), then without a trailing fragment
    that could start a secret; ``…`` marks a cut."""
    flat = " ".join(redactor(text).split())
    if len(flat) <= limit:
        return flat
    mask = flat.rfind(MASK, max(limit - len(MASK) + 1, 0), limit + len(MASK) - 1)
    cut = flat[: mask if 0 <= mask < limit < mask + len(MASK) else limit]
    return redactor.without_secret_start(cut).rstrip() + "…"


def redact_tree(value: t.Any) -> t.Any:
    """A JSON-like value with secrets masked in every string, keys too (for STATE and records)."""
    if isinstance(value, str):
        return REDACTOR(value)
    if isinstance(value, dict):
        return {REDACTOR(k) if isinstance(k, str) else k: redact_tree(v) for k, v in value.items()}
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
