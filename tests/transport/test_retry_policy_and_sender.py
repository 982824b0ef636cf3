"""The one retry policy, and the sender that uses it, built directly (a transport in memory: no server)."""

from __future__ import annotations

import logging

import pytest
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_restgeneric.errors import StreamError
from tap_restgeneric.paging.request_builder import BodyRequest
from tap_restgeneric.transport.retry import DEFAULT_ERROR_HANDLER, RetryPolicy
from tap_restgeneric.transport.sender import Sender
from tap_restgeneric.transport.throttle import RateLimiter
from tests.support import FakeClock

LOGGER = logging.getLogger("tests.transport")


def response(status: int, **headers: str) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made.reason = {200: "OK", 503: "Service Unavailable", 404: "Not Found"}[status]
    made.url = "https://api.example.com/items?key=s3cret"
    made.headers.update(headers)
    made._content = b'{"data": []}'
    return made


def policy(**handler) -> RetryPolicy:
    return RetryPolicy.of({**DEFAULT_ERROR_HANDLER, **handler})


def test_a_policy_tries_again_after_a_retriable_failure_and_gives_up_after_its_attempts():
    clock = FakeClock()
    retries: list[tuple[str, float, int]] = []
    outcomes = iter([requests.exceptions.ConnectionError("refused"), RetriableAPIError("HTTP 503", response(503)), "done"])

    def attempt():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def on_retry(error: BaseException, seconds: float, tries: int) -> None:
        retries.append((type(error).__name__, seconds, tries))

    assert policy(backoff_factor=0.5).run(attempt, RateLimiter(None), on_retry, clock.sleep) == "done"
    assert retries == [("ConnectionError", 0.5, 1), ("RetriableAPIError", 1.0, 2)]
    assert clock.slept == [0.5, 1.0]
    with pytest.raises(requests.exceptions.ConnectionError):
        policy(max_retries=1).run(
            lambda: (_ for _ in ()).throw(requests.exceptions.ConnectionError()), RateLimiter(None), on_retry, clock.sleep
        )


def test_retry_after_is_the_wait_capped_and_pauses_every_request():
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    asked_at = clock.now
    assert policy(max_retry_after=30).delay(response(503, **{"Retry-After": "120"}), 0, limiter) == 30
    assert limiter.wait() == asked_at + 30  # the next request of any stream starts after the pause
    assert clock.slept == [30]


def test_a_status_is_retried_or_fatal_and_says_so_naming_the_stream():
    with pytest.raises(RetriableAPIError) as retried:
        policy().check(response(503), "items")
    assert str(retried.value) == "stream 'items': HTTP 503 Service Unavailable from https://api.example.com/items"


class Wire:
    """A transport in memory: answers each request with the next response."""

    def __init__(self, *responses: requests.Response) -> None:
        self.responses = list(responses)
        self.sent: list[str] = []

    def send(self, prepared: requests.PreparedRequest) -> requests.Response:
        self.sent.append(prepared.url or "")
        return self.responses.pop(0)


def sender(wire: Wire, **handler) -> Sender:
    clock = FakeClock()
    return Sender(
        stream="items",
        transport=wire,  # type: ignore[arg-type]
        session=requests.Session(),
        policy=policy(**handler),
        limiter=RateLimiter(None),
        user_agent="tap-restgeneric/test",
        logger=LOGGER,
        sleep=clock.sleep,
    )


def built(headers: dict | None = None) -> BodyRequest:
    return BodyRequest(url="https://api.example.com/items", method="GET", params={"page": 1}, headers=headers or {}, data=None)


def test_a_sender_retries_a_retriable_status_reads_the_response_and_counts_its_retries():
    wire = Wire(response(503), response(200))
    send = sender(wire, backoff_factor=0)
    prepared = send.prepare(built())
    assert prepared.headers["User-Agent"] == "tap-restgeneric/test"

    def read(answer: requests.Response) -> int:
        policy().check(answer, "items")
        return answer.status_code

    assert send.fetch(prepared, read) == 200
    assert (len(wire.sent), send.retried) == (2, 1)


def test_a_sender_gives_up_with_one_line_naming_the_stream_and_the_parent_record():
    send = sender(Wire(response(503), response(503)), max_retries=1, backoff_factor=0)

    def read(answer: requests.Response) -> None:
        policy().check(answer, "items")

    with pytest.raises(StreamError) as raised:
        send.fetch(send.prepare(built()), read, context_label=" (for the 'issues' record with number=2)")
    assert str(raised.value) == (
        "stream 'items' (for the 'issues' record with number=2): HTTP 503 Service Unavailable from "
        "https://api.example.com/items (gave up after 2 attempts)"
    )


def test_a_header_that_cannot_be_sent_is_one_line():
    with pytest.raises(StreamError, match=r"^stream 'items': header 'X-Name' cannot be sent: its value holds a line break"):
        sender(Wire()).prepare(built({"X-Name": "a\r\nb"}))
