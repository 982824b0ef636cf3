"""Sending a stream's requests: the SDK's session, backoff and response hooks around ``Transport``.

``_send`` is one request with the retries of the resource's ``error_handler``; every failure
becomes one ``StreamError`` line naming the stream, status or problem, and the URL.
"""

from __future__ import annotations

import typing as t

import backoff
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from typing_extensions import override

from tap_restgeneric.errors import StreamError
from tap_restgeneric.output.redact import excerpt
from tap_restgeneric.paging.page_loop import Abandoned
from tap_restgeneric.paging.paginators import Page
from tap_restgeneric.paging.response_actions import ResponseAction, first_action
from tap_restgeneric.transport.deadlines import new_session
from tap_restgeneric.transport.retry import RateLimiter, retry_delay
from tap_restgeneric.transport.wire import Transport, connection_problem, display_url

if t.TYPE_CHECKING:
    import threading

    from tap_restgeneric.paging.reader import ResponseReader
    from tap_restgeneric.settings import Settings


class SendingStream(RESTStream):
    """The SDK's hooks for sending: the session, request preparation, response checks and
    backoff, driven by a resource's ``error_handler`` (which statuses are retried, how
    often, how long to wait). Every request goes out through ``transport``."""

    error_handler: t.Mapping[str, t.Any]
    #: dlt's response_actions of the endpoint (checked before the status is).
    response_actions: tuple[ResponseAction, ...] = ()
    #: Requests sent again after a retriable failure, in this sync.
    retried = 0
    rate_limiter: RateLimiter
    settings: Settings
    _transport: Transport
    _reader: ResponseReader

    @override
    def request_decorator(self, func: t.Callable) -> t.Callable:
        """The SDK's backoff, logging each retry once (``backoff_handler``) instead of twice."""
        decorated: t.Callable = backoff.on_exception(
            self.backoff_wait_generator,
            (
                ConnectionResetError,
                RetriableAPIError,
                requests.exceptions.Timeout,
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ),
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            logger=None,
        )(func)
        return decorated

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        where = f"stream '{self.name}': HTTP {status} {response.reason or ''}".rstrip() + f" from {display_url(response.url)}"
        if status in frozenset(self.error_handler["retry_on_status_codes"]):
            raise RetriableAPIError(where, response)
        if status in (401, 403):
            raise FatalAPIError(f"{where}: the API refused the credentials (check `secrets` and client.auth)")
        snippet = excerpt(response.text) if response.content else ""
        raise FatalAPIError(f"{where}: {snippet}" if snippet else where)

    @override
    def backoff_max_tries(self) -> int:
        return int(self.error_handler["max_retries"]) + 1

    @override
    def backoff_jitter(self, value: float) -> float:
        return value

    @override
    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:
        def waits() -> t.Generator[float, t.Any, None]:
            exception = yield  # type: ignore[misc]  # backoff primes the generator with send(None)
            attempt = 0
            while True:
                exception = yield self.retry_delay(exception, attempt)
                attempt += 1

        return waits()

    def retry_delay(self, exception: Exception, attempt: int) -> float:
        """See :func:`tap_restgeneric.transport.retry.retry_delay`."""
        return retry_delay(self.error_handler, getattr(exception, "response", None), attempt, self.rate_limiter)

    @override
    def backoff_handler(self, details: t.Any) -> None:
        exception = details.get("exception")
        reason = (
            str(exception)
            if isinstance(exception, (RetriableAPIError, requests.exceptions.Timeout))
            else connection_problem(exception)
        )
        self.retried += 1
        self.logger.warning("Retrying in %.2f s (attempt %d): %s", details.get("wait") or 0, details.get("tries"), reason)

    @property
    @override
    def requests_session(self) -> requests.Session:
        """A session that never reads the environment per request (``Transport`` reads
        proxies and CA bundles once per origin: requests scans os.environ three times per
        request, 0.6 s per 1000 pages in a profile) and whose responses have deadlines."""
        session = self.__dict__.get("_transport_session")
        if session is None:  # (the SDK's own _requests_session is a plain Session made in __init__)
            pool = max(10, self.settings.max_concurrency)
            session = self.__dict__["_transport_session"] = new_session(pool_maxsize=pool)
        return t.cast("requests.Session", session)

    @override
    def build_prepared_request(self, *args: t.Any, **kwargs: t.Any) -> requests.PreparedRequest:
        """As the SDK's, without attaching the authenticator: ``Transport`` adds
        credentials per hop, and only for the origin of ``base_url``."""
        request = requests.Request(*args, **kwargs)
        request.headers.setdefault("User-Agent", self.user_agent)
        return self.requests_session.prepare_request(request)

    def _fetch(self, prepared: requests.PreparedRequest, cancelled: threading.Event | None, context: t.Any) -> Page:
        """One page: the request with the retries of the error handler, its body read (an
        unreadable body is retried too); failures become StreamErrors."""
        try:
            fetch_with_retries = self.request_decorator(self._fetch_once)
            return t.cast("Page", fetch_with_retries(prepared, cancelled, context))
        except RetriableAPIError as exc:
            raise StreamError(self._in_context(f"{exc} (gave up after {self.backoff_max_tries()} attempts)", context)) from exc
        except FatalAPIError as exc:
            raise StreamError(self._in_context(str(exc), context)) from exc
        except requests.exceptions.RequestException as exc:
            raise StreamError(
                self._in_context(
                    f"stream '{self.name}': request to {display_url(prepared.url or '')} failed after "
                    f"{self.backoff_max_tries()} attempts: {connection_problem(exc)}",
                    context,
                )
            ) from exc

    def send_once(self, prepared: requests.PreparedRequest) -> requests.Response:
        """One attempt, not retried, under the rate limit (the doctor's probes: two requests at most)."""
        self.rate_limiter.wait()
        with self.rate_limiter.slot():
            return self._transport.send(prepared)

    def read(self, response: requests.Response) -> Page:
        """A response as a page: its status checked, its body parsed, its records selected."""
        self.validate_response(response)
        return self._reader(response)

    def parse_body(self, response: requests.Response) -> t.Any:
        return self._reader.parse(response)

    def log_once(self, message: str) -> None:
        """``stream '<name>': <message>`` at INFO, the first time only."""
        logged = self.__dict__.setdefault("_logged_once", set())
        if message not in logged:
            logged.add(message)
            self.logger.info("stream '%s': %s", self.name, message)

    def warn_once(self, topic: str, message: str) -> None:
        """``message`` as a WARNING, the first time something is said about ``topic`` in this stream."""
        warned = self.__dict__.setdefault("_warned_once", set())
        if topic not in warned:
            warned.add(topic)
            self.logger.warning("%s", message)

    def _in_context(self, message: str, context: t.Any) -> str:
        """The error ``message`` about this stream, naming the parent record it was read for."""
        label = self.context_label(context)
        prefix = f"stream '{self.name}'"
        return prefix + label + message[len(prefix) :] if label and message.startswith(prefix) else message

    def check_headers(self, headers: t.Mapping[str, str], context: t.Any) -> None:
        """A header requests would refuse to send (a value from a template or a parent's field
        holding a line break) is one line naming the stream, the parent record and the header
        (the value itself is not repeated), not requests' InvalidHeader text."""
        refused = next((name for name, value in headers.items() if not _sendable(name, value)), None)
        if refused is not None:
            raise StreamError(
                self._in_context(
                    f"stream '{self.name}': header {refused!r} cannot be sent: its value holds a line break (CR or LF) "
                    "or starts with whitespace (from the headers config or a parent's field it reads)",
                    context,
                )
            )

    def context_label(self, context: t.Any) -> str:  # noqa: ARG002 - a top-level stream's contexts need no name
        """How errors name the context a request was made for (a child stream: its parent record)."""
        return ""

    def _fetch_once(self, prepared: requests.PreparedRequest, cancelled: threading.Event | None, context: t.Any) -> Page:
        if cancelled is not None and cancelled.is_set():
            raise Abandoned  # not retried: nobody will read this page
        self.rate_limiter.wait()
        with self.rate_limiter.slot():
            response = self._transport.send(prepared)
        # The SDK's request-duration metric (Meltano users read it); private, but the only
        # way to emit the metric exactly as the SDK's own _request does.
        self._write_request_duration_log(endpoint=self.path, response=response, context=context, extra_tags=None)
        if self.response_actions and first_action(self.response_actions, response) == "ignore":
            self.logger.info(
                "%s: HTTP %s from %s ignored (response_actions)",
                self._in_context(f"stream '{self.name}'", context),
                response.status_code,
                display_url(response.url),
            )
            return Page(response, None, [], ignored=True)
        self.validate_response(response)
        return self._reader(response)


def _sendable(name: str, value: str) -> bool:
    try:
        requests.utils.check_header_validity((name, value))
    except requests.exceptions.InvalidHeader:
        return False
    return True
