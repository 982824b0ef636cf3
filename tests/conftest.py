from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tap_restgeneric.sandbox import SandboxServer
from tests.support import CANARY

# Hypothesis times each example (deadline) and data generation (too_slow): on a loaded machine
# those measure the load, not the code. Its examples are checked on what they produce only.
settings.register_profile("untimed", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("untimed")

# One sandbox for the whole run, started at import so that the SDK's standard test
# classes (built at collection time) can discover against it.
SANDBOX = SandboxServer(secret=CANARY, port=0)
SANDBOX.start()


def pytest_unconfigure(config):
    SANDBOX.stop()


@pytest.fixture
def fresh_sandbox():
    """A sandbox of its own, its data as generated (the shared one is changed by
    other tests: advance() rewrites an API's records, and a test that advances one must not leave it
    changed for the tests after it, whichever worker runs them)."""
    server = SandboxServer(secret=CANARY, port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sandbox():
    """The shared sandbox, with no pending faults and a clean request log."""
    SANDBOX.clear_requests()
    yield SANDBOX
    SANDBOX.clear_requests()
