from __future__ import annotations

import pytest

from tap_restgeneric.sandbox import SandboxServer
from tests.support import CANARY

# One sandbox for the whole run, started at import so that the SDK's standard test
# classes (built at collection time) can discover against it.
SANDBOX = SandboxServer(secret=CANARY, port=0)
SANDBOX.start()


def pytest_unconfigure(config):
    SANDBOX.stop()


@pytest.fixture
def sandbox():
    """The shared sandbox, with no pending faults and a clean request log."""
    SANDBOX.clear_requests()
    yield SANDBOX
    SANDBOX.clear_requests()
