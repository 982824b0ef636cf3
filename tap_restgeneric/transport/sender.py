"""One stream's requests, from a built request to what its response reads as.

``Sender.prepare`` makes the wire request (a header requests would refuse to send is one line, not
requests' ``InvalidHeader``); ``Sender.fetch`` sends it through the stream's ``Transport`` (the one
place a request leaves the tap) under the tap's rate limiter, reads the response with the reader it is
given (which checks the status and parses the body), and tries again under the stream's
``RetryPolicy``; every failure becomes one ``StreamError`` naming the stream, the parent record it was
read for, the status or problem, and the URL.
"""

from __future__ import annotations

import dataclasses
import time
import typing as t

import requests
from singer_sdk import metrics
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_restgeneric.errors import StoppedWithState, StreamError, stream_line
from tap_restgeneric.transport.bodies import connection_problem
from tap_restgeneric.transport.origins import display_url
from tap_restgeneric.transport.ratelimits import RateLimitWaitTooLong

if t.TYPE_CHECKING:
    import logging
    import threading
    from collections.abc import Callable

    from tap_restgeneric.transport.rate_gate import RateGate
    from tap_restgeneric.transport.retry import RetryPolicy
    from tap_restgeneric.transport.throttle import RateLimiter
    from tap_restgeneric.transport.wire import Transport

_T = t.TypeVar("_T")


class Abandoned(Exception):
    """A page requested ahead is no longer wanted: its retries stop."""


class BuiltRequest(t.Protocol):
    """A request as built from the config (the SDK's ``HTTPRequest``, plus a form body)."""

    method: str
    url: str
    headers: dict[str, str]
    data: t.Any
    form: t.Any

    def encode_params(self) -> t.Any: ...


class RequestMetric:
    """The SDK's request-duration METRIC line of one stream (what ``RESTStream`` logs per request)."""

    def __init__(self, logger: logging.Logger, stream: str, endpoint: str) -> None:
        self.logger = logger
        self.stream = stream
        self.endpoint = endpoint

    def __call__(self, response: requests.Response, context: t.Any) -> None:
        tags: dict[str, t.Any] = {
            metrics.Tag.STREAM: self.stream,
            metrics.Tag.ENDPOINT: self.endpoint,
            metrics.Tag.HTTP_STATUS_CODE: response.status_code,
            metrics.Tag.STATUS: metrics.Status.SUCCEEDED if response.status_code < 400 else metrics.Status.FAILED,
        }
        if context:
            tags[metrics.Tag.CONTEXT] = context
        metric = metrics.Metric.HTTP_REQUEST_DURATION
        metrics.log(self.logger, metrics.Point("timer", metric=metric, value=response.elapsed.total_seconds(), tags=tags))


@dataclasses.dataclass(kw_only=True)
class Sender:
    """Sends one stream's requests (see the module docstring); ``retried`` counts the requests sent again."""

    stream: str
    transport: Transport
    session: requests.Session
    policy: RetryPolicy
    limiter: RateLimiter
    user_agent: str
    logger: logging.Logger
    #: Said of each response received (the SDK's request-duration METRIC line).
    on_response: Callable[[requests.Response, t.Any], None] = lambda response, context: None
    #: The run's budgets from response headers (per origin) and ``client.api_budget`` (None: no budget).
    gate: RateGate | None = None
    sleep: Callable[[float], None] = time.sleep
    retried: int = dataclasses.field(default=0, init=False)

    def prepare(self, request: BuiltRequest, context_label: str = "") -> requests.PreparedRequest:
        """The request as it goes on the wire, without credentials (``Transport`` adds them per hop, and
        only for the origin of ``base_url``)."""
        refused = next((name for name, value in request.headers.items() if not _sendable(name, value)), None)
        if refused is not None:
            raise StreamError(
                f"header {refused!r} cannot be sent: its value holds a line break (CR or LF) or starts with "
                "whitespace (from the headers config or a parent's field it reads)",
                stream=self.stream,
                context=context_label,
            )
        wire = requests.Request(
            method=request.method,
            url=request.url,
            params=request.encode_params(),
            headers=request.headers,
            json=request.data,
            data=request.form,
        )
        wire.headers.setdefault("User-Agent", self.user_agent)
        return self.session.prepare_request(wire)

    def fetch(
        self,
        prepared: requests.PreparedRequest,
        read: Callable[[requests.Response], _T],
        *,
        cancelled: threading.Event | None = None,
        context: t.Any = None,
        context_label: str = "",
    ) -> _T:
        """The request with the retries of the policy, its response read by ``read`` (an unreadable body is
        retried too); ``cancelled``, once set, stops the retries (``Abandoned``)."""

        def attempt() -> _T:
            if cancelled is not None and cancelled.is_set():
                raise Abandoned  # not retried: nobody will read this page
            response = self.send_once(prepared)
            self.on_response(response, context)
            return read(response)

        attempts = self.policy.attempts
        try:
            return self.policy.run(attempt, self.limiter, self._retrying, self.sleep)
        except RetriableAPIError as exc:
            raise self._error(f"{_message(exc)} (gave up after {attempts} attempts)", context_label) from exc
        except FatalAPIError as exc:
            raise self._error(_message(exc), context_label) from exc
        except RateLimitWaitTooLong as exc:  # stopped instead of waiting: the records written keep their STATE
            raise StoppedWithState(exc.message, stream=self.stream, context=context_label) from None
        except requests.exceptions.RequestException as exc:
            where = display_url(prepared.url or "")
            message = f"request to {where} failed after {attempts} attempts: {connection_problem(exc)}"
            raise self._error(message, context_label) from exc

    def read_once(self, response: requests.Response, read: Callable[[requests.Response], _T]) -> _T:
        """A response read once (the doctor's probes): a status or body that would be retried fails at once."""
        try:
            return read(response)
        except (RetriableAPIError, FatalAPIError) as exc:
            raise self._error(_message(exc), "") from exc

    def send_once(self, prepared: requests.PreparedRequest) -> requests.Response:
        """One attempt, not retried, under the rate limit."""
        if self.gate is None:
            self.limiter.wait()
            with self.limiter.slot():
                return self.transport.send(prepared)
        with self.gate.turn(prepared) as observe:  # waits for the budget before taking a slot
            self.limiter.wait()
            with self.limiter.slot():
                response = self.transport.send(prepared)
            observe(response)
            return response

    def retry_delay(self, exception: BaseException, attempt: int) -> float:
        """Seconds before retry ``attempt + 1`` after ``exception`` (see ``RetryPolicy.delay``)."""
        return self.policy.delay(getattr(exception, "response", None), attempt, self.limiter)

    def _retrying(self, exception: BaseException, seconds: float, tries: int) -> None:
        if isinstance(exception, RetriableAPIError):
            reason = stream_line(self.stream, _message(exception))
        elif isinstance(exception, requests.exceptions.Timeout):
            reason = str(exception)
        else:
            reason = connection_problem(exception)
        self.retried += 1
        self.logger.warning("Retrying in %.2f s (attempt %d): %s", seconds, tries, reason)

    def _error(self, message: str, context_label: str) -> StreamError:
        return StreamError(message, stream=self.stream, context=context_label)


def _message(exc: RetriableAPIError | FatalAPIError) -> str:
    """What an API error says, without the stream its text names (``RetriableResponse.message``)."""
    return str(getattr(exc, "message", None) or exc)


def _sendable(name: str, value: str) -> bool:
    try:
        requests.utils.check_header_validity((name, value))
    except requests.exceptions.InvalidHeader:
        return False
    return True
